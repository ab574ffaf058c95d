# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The hub's tick path, compiled: ``TickHub.pump``'s loop and the first-arrival rule of
``aggregation.dedup`` (``TickHub._first``), per tick in C (docs/architecture.md, "The hub's
hot loop").

Built in place by ``python -m aggregation.build_ext``; ``aggregation.hub_core`` falls back to
the hub's Python loop when it is not built (or ``MDHUB_PURE_PYTHON=1``).
``tests/test_hub_core_property.py`` shows both loops forward exactly what
``aggregation.dedup.FirstArrival`` forwards, for any interleaving of sources.

Why each piece is here:

* Frames are received into a ``zmq_msg_t`` by libzmq itself (the library pyzmq loaded): no
  bytes object for a duplicate's frame (2/3 of the copies with three sources), none for its
  key; a forwarded copy's payload is built in one allocation and sent with ``zmq_send``.
  The first receive of a message does not wait (the GIL is kept while messages are queued);
  only when the queue is empty does the core give the GIL back and wait, bounded by the
  socket's RCVTIMEO, like the Python loop.
* Per topic, the rule's state is C: the ``RECENT_KEYS`` newest keys in a ring (they are
  unique: a key is only added when not there) and the hashes of every key of the newest
  exchange time (all of them share that time, so the 8-byte hash half tells them apart).
* Per route (one account, one topic), the source's counters are C integers added to its
  ``SourceStats`` when the batch ends: the engine reads them between batches, on the same
  thread, so it sees exactly what the Python loop would have left.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.exc cimport PyErr_CheckSignals
from cpython.ref cimport PyObject
from libc.errno cimport EAGAIN, EINTR
from libc.stdint cimport INT64_MIN, int64_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy
from posix.time cimport CLOCK_MONOTONIC, CLOCK_REALTIME, clock_gettime, timespec

from aggregation._journal_core cimport HandOff

import zmq

from aggregation.dedup import RECENT_KEYS as _RECENT_KEYS
from aggregation.source_speed import FIRST as _FIRST, TOO_LATE as _TOO_LATE
from aggregation.wire import HUB_FIELDS as _HUB_FIELDS, TICK_HEAD as _TICK_HEAD

cdef extern from * nogil:
    """
    /* libzmq's ABI (zmq.h is not installed here: pyzmq ships the library, not the header). */
    typedef struct { unsigned char _[64]; } __attribute__((aligned(sizeof(void *)))) mdhub_zmq_msg_t;
    int zmq_msg_init(mdhub_zmq_msg_t *msg);
    int zmq_msg_recv(mdhub_zmq_msg_t *msg, void *s, int flags);
    int zmq_msg_close(mdhub_zmq_msg_t *msg);
    void *zmq_msg_data(mdhub_zmq_msg_t *msg);
    size_t zmq_msg_size(const mdhub_zmq_msg_t *msg);
    int zmq_send(void *s, const void *buf, size_t len, int flags);
    int zmq_errno(void);
    #define MDHUB_ZMQ_DONTWAIT 1
    #define MDHUB_ZMQ_SNDMORE 2
    static inline uint64_t mdhub_load64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
    static inline int64_t mdhub_be64(const unsigned char *p) { return (int64_t)__builtin_bswap64(mdhub_load64(p)); }
    """
    ctypedef struct mdhub_zmq_msg_t:
        pass
    int zmq_msg_init(mdhub_zmq_msg_t *msg)
    int zmq_msg_recv(mdhub_zmq_msg_t *msg, void *s, int flags)
    int zmq_msg_close(mdhub_zmq_msg_t *msg)
    void *zmq_msg_data(mdhub_zmq_msg_t *msg)
    size_t zmq_msg_size(const mdhub_zmq_msg_t *msg)
    int zmq_send(void *s, const void *buf, size_t len, int flags)
    int zmq_errno()
    int MDHUB_ZMQ_DONTWAIT
    int MDHUB_ZMQ_SNDMORE
    uint64_t mdhub_load64(const unsigned char *p)
    int64_t mdhub_be64(const unsigned char *p)

cdef extern from *:
    int __builtin_clzll(unsigned long long x) nogil


cdef inline Py_ssize_t bit_length(int64_t value) noexcept:
    """``int.bit_length`` (of the magnitude, as Python's)."""
    cdef uint64_t v = <uint64_t>(-value if value < 0 else value)
    if v == 0:
        return 0
    return 64 - __builtin_clzll(v)


cdef inline void bump(list cell, Py_ssize_t slot):
    """``cell[slot] += 1`` for a speed cell (a list of ints)."""
    cell[slot] = cell[slot] + 1


cdef enum:
    RING = 16
    MAP16 = 0xDE
    KIND_TICK = 0x54  # "T"
    KEY_SIZE = 16

if _RECENT_KEYS != RING:
    raise ImportError("aggregation.dedup.RECENT_KEYS changed: change RING in _hub_core.pyx too")
cdef int TICK_HEAD = _TICK_HEAD
cdef int HUB_FIELDS = _HUB_FIELDS
cdef Py_ssize_t FIRST = _FIRST
cdef Py_ssize_t TOO_LATE = _TOO_LATE


cdef inline double monotonic() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


cdef inline int64_t wall_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef class TopicCore:
    """One topic's first-arrival state and its last seq (``aggregation.dedup.TopicState``'s
    role for the compiled loop; readers outside it read ``seq`` only)."""

    cdef public int64_t seq
    cdef readonly int64_t last_time
    # The topic as the journal's writer holds it: an object of its own, so that the writer
    # thread's reference counting does not write the cache line the tick path reads.
    cdef bytes journal_topic
    # The ring of recent keys: raw halves (time, hash) and when each was forwarded.
    cdef uint64_t r_time[RING]
    cdef uint64_t r_hash[RING]
    cdef int64_t r_ns[RING]
    cdef int r_count
    cdef int r_next
    # Hash halves of the keys forwarded with exchange time ``last_time``.
    cdef uint64_t *at_last
    cdef Py_ssize_t n_last
    cdef Py_ssize_t cap_last

    def __cinit__(self) -> None:
        self.seq = 0
        self.last_time = INT64_MIN
        self.r_count = 0
        self.r_next = 0
        self.at_last = NULL
        self.n_last = 0
        self.cap_last = 0

    def __dealloc__(self) -> None:
        free(self.at_last)

    cdef inline int64_t seen(self, const unsigned char *key) noexcept:
        """When ``key`` was forwarded, if it is one of the recent keys; else -1 (a time in ns
        since 1970 is never negative)."""
        cdef uint64_t a = mdhub_load64(key), b = mdhub_load64(key + 8)
        cdef int i
        for i in range(self.r_count):
            if self.r_hash[i] == b and self.r_time[i] == a:
                return self.r_ns[i]
        return -1

    cdef int place(self, const unsigned char *key, int64_t now) except -1:
        """The rule for a key that is not recent: 1 forward (and remember it), 0 too late."""
        cdef int64_t ktime = mdhub_be64(key)
        cdef uint64_t h = mdhub_load64(key + 8)
        cdef Py_ssize_t i
        cdef uint64_t *grown
        if ktime > self.last_time:
            self.last_time = ktime
            self.n_last = 0
        elif ktime < self.last_time:
            return 0
        else:
            for i in range(self.n_last):
                if self.at_last[i] == h:
                    return 0
        if self.n_last == self.cap_last:
            grown = <uint64_t *>realloc(self.at_last, (self.cap_last * 2 + 4) * sizeof(uint64_t))
            if grown == NULL:
                raise MemoryError()
            self.at_last = grown
            self.cap_last = self.cap_last * 2 + 4
        self.at_last[self.n_last] = h
        self.n_last += 1
        i = self.r_next
        self.r_time[i] = mdhub_load64(key)
        self.r_hash[i] = h
        self.r_ns[i] = now
        self.r_next = (self.r_next + 1) % RING
        if self.r_count < RING:
            self.r_count += 1
        return 1


cdef class Route:
    """What the core needs for the ticks of one frame head (one account, one topic)."""

    cdef object source  # aggregation.hub.SourceStats
    cdef TopicCore state
    cdef bytes topic
    cdef bytes suffix
    cdef bint watched
    cdef object late_append
    cdef dict cells  # the speed cell map ``cell`` came from (it is swapped per session)
    cdef list cell
    # This batch's counts, added to ``source`` when the batch ends.
    cdef int64_t first
    cdef int64_t duplicates
    cdef int64_t too_late
    cdef double last_now
    cdef bint touched


cdef class Core:
    """``TickHub.pump`` for one hub (``aggregation.hub_core.make``)."""

    cdef object hub
    cdef void *ingest
    cdef void *pub
    cdef object ingest_sock  # held: the handles are theirs
    cdef object pub_sock
    cdef dict routes
    # Read from the hub at each batch (a test or the engine may replace them).
    cdef dict topics
    cdef dict last_value
    cdef object speed
    cdef object journal_q
    cdef HandOff handoff  # journal_q when it is the compiled journal's (a C call per tick)
    cdef object journal_stats
    cdef Py_ssize_t journal_cap
    cdef list touched

    def __init__(self, hub: object) -> None:
        self.hub = hub
        self.ingest_sock = hub.ingest
        self.pub_sock = hub.pub
        self.ingest = <void *><size_t>hub.ingest.underlying
        self.pub = <void *><size_t>hub.pub.underlying
        self.routes = {}
        self.journal_q = hub._journal_q
        self.handoff = hub._journal_q if isinstance(hub._journal_q, HandOff) else None
        self.journal_cap = hub._journal_cap
        self.journal_stats = hub.journal.stats if hub.journal is not None else None
        self.touched = []

    def clear_routes(self) -> None:
        """Forget the cached routes (the watched topics changed)."""
        self.routes.clear()

    cdef Route route(self, bytes head):
        cdef Route route = Route()
        source, topic, watched = self.hub._route_head(head)
        state = self.topics.get(topic)
        if state is None:
            state = TopicCore()
            self.topics[topic] = state
        route.source = source
        route.state = <TopicCore?>state
        if route.state.journal_topic is None:
            route.state.journal_topic = PyBytes_FromStringAndSize(PyBytes_AS_STRING(topic), PyBytes_GET_SIZE(topic))
        route.topic = topic
        route.suffix = source.suffix
        route.watched = watched
        route.late_append = source.late_ns.append
        route.cells = None
        route.cell = None
        self.routes[head] = route
        return route

    cdef void flush(self):
        """Add the batch's counts to the sources (the engine reads them between batches)."""
        cdef Route route
        cdef object source
        for obj in self.touched:
            route = <Route>obj
            source = route.source
            if route.first:
                source.first += route.first
            if route.duplicates:
                source.duplicates += route.duplicates
            if route.too_late:
                source.too_late += route.too_late
            source.last_tick_mono = route.last_now
            if route.watched:
                source.last_tick_by_topic[route.topic] = route.last_now
            route.first = route.duplicates = route.too_late = 0
            route.touched = False
        self.touched.clear()

    cdef int receive(self, mdhub_zmq_msg_t *msg) except -2:
        """1: a message is in ``msg``; 0: the stream paused (or a signal came)."""
        cdef int rc = zmq_msg_recv(msg, self.ingest, MDHUB_ZMQ_DONTWAIT)
        cdef int err
        if rc >= 0:
            return 1
        err = zmq_errno()
        if err == EAGAIN:
            # Nothing queued: give the GIL back while libzmq waits (RCVTIMEO bounds it).
            with nogil:
                rc = zmq_msg_recv(msg, self.ingest, 0)
            if rc >= 0:
                return 1
            err = zmq_errno()
        if err == EAGAIN:
            return 0
        if err == EINTR:
            # Let Python run the handler (SIGTERM sets the engine's shutdown flag).
            PyErr_CheckSignals()
            return 0
        raise zmq.ZMQError(err)

    def pump(self, int max_batch=2000, double budget_s=0.005) -> int:
        cdef mdhub_zmq_msg_t msg
        cdef const unsigned char *data
        cdef Py_ssize_t size, key_at, body_at
        cdef int handled = 0
        cdef int forwarded = 0
        cdef double now = monotonic()
        cdef double until = now + budget_s
        cdef Route route
        cdef PyObject *found
        cdef bytes head
        cdef dict cells
        if self.ingest_sock.closed or self.pub_sock.closed:
            # libzmq would be handed a freed socket: fail as pyzmq does instead.
            raise zmq.ZMQError(zmq.ENOTSOCK)
        self.topics = self.hub.topics
        self.last_value = self.hub.last_value
        self.speed = self.hub.speed
        cells = self.speed.cells
        cdef int64_t seen, late, at
        cdef int count
        zmq_msg_init(&msg)
        try:
            while handled < max_batch:
                if handled and not handled & 15:
                    now = monotonic()
                    if now > until:
                        break
                if not self.receive(&msg):
                    break
                handled += 1
                data = <const unsigned char *>zmq_msg_data(&msg)
                size = <Py_ssize_t>zmq_msg_size(&msg)
                if size < 3 or data[0] != KIND_TICK:
                    if size == 0:
                        self.hub._skip_rest()
                    else:
                        self.hub._on_other(PyBytes_FromStringAndSize(<const char *>data, size))
                    continue
                key_at = TICK_HEAD + data[1] + data[2]
                body_at = key_at + KEY_SIZE
                # Checked before the dedup state is touched: a bad copy must not shadow a
                # good one.
                if size < body_at + 3 or data[body_at] != MAP16:
                    self.hub._skip_rest()
                    continue
                head = PyBytes_FromStringAndSize(<const char *>data, key_at)
                found = PyDict_GetItem(self.routes, head)
                if found != NULL:
                    route = <Route>found
                else:
                    try:
                        route = self.route(head)
                    except (ValueError, TypeError, KeyError, IndexError, AttributeError, UnicodeDecodeError):
                        self.hub._skip_rest()
                        continue
                if route.cells is not cells:
                    cell = self.speed.cells.get(head) or self.speed.cell(head, route.topic, route.source.name)
                    route.cell = cell
                    route.cells = cells
                if not route.touched:
                    route.touched = True
                    self.touched.append(route)
                route.last_now = now
                seen = route.state.seen(data + key_at)
                if seen >= 0:
                    late = wall_ns() - seen
                    route.duplicates += 1
                    route.late_append(late)
                    bump(route.cell, bit_length(late))
                elif route.state.place(data + key_at, wall_ns()):
                    self.forward(route, data, size, key_at, body_at)
                    route.first += 1
                    forwarded += 1
                    bump(route.cell, FIRST)
                else:
                    route.too_late += 1
                    bump(route.cell, TOO_LATE)
        finally:
            zmq_msg_close(&msg)
            self.flush()
            if forwarded:
                self.hub.stats.forwarded += forwarded
        return handled

    cdef int forward(self, Route route, const unsigned char *data, Py_ssize_t size,
                     Py_ssize_t key_at, Py_ssize_t body_at) except -1:
        """Stamp seq, extend the body byte-wise (``aggregation.wire.extend_body``), send,
        keep the last value, hand the tick to the journal."""
        cdef TopicCore state = route.state
        cdef int64_t seq = state.seq + 1
        cdef Py_ssize_t body_len = size - body_at
        cdef Py_ssize_t suffix_len = PyBytes_GET_SIZE(route.suffix)
        cdef Py_ssize_t n = body_len + suffix_len + 8
        cdef int count = (data[body_at + 1] << 8 | data[body_at + 2]) + HUB_FIELDS
        cdef bytes payload
        cdef unsigned char *out
        cdef int i
        cdef int rc
        cdef bytes topic = route.topic
        if count > 0xFFFF:
            raise ValueError("tick body has too many entries")
        state.seq = seq
        payload = PyBytes_FromStringAndSize(NULL, n)
        out = <unsigned char *>PyBytes_AS_STRING(payload)
        out[0] = MAP16
        out[1] = count >> 8
        out[2] = count & 0xFF
        memcpy(out + 3, data + body_at + 3, body_len - 3)
        memcpy(out + body_len, PyBytes_AS_STRING(route.suffix), suffix_len)
        out += body_len + suffix_len
        for i in range(8):
            out[i] = (seq >> (56 - 8 * i)) & 0xFF
        self.last_value[topic] = payload
        rc = zmq_send(self.pub, PyBytes_AS_STRING(topic), PyBytes_GET_SIZE(topic), MDHUB_ZMQ_SNDMORE)
        if rc >= 0:
            rc = zmq_send(self.pub, PyBytes_AS_STRING(payload), n, 0)
        if rc < 0 and zmq_errno() != EAGAIN:
            raise zmq.ZMQError(zmq_errno())
        if self.handoff is not None:
            # After the send: the journal never delays a client. Past the capacity the tick
            # is not journaled; the writer records the hole when it sees the seq jump.
            if not self.handoff.push(state.journal_topic, payload, seq, mdhub_be64(data + key_at)):
                self.journal_stats.overflow += 1
        elif self.journal_q is not None:
            # The same with the Python journal's deque.
            if len(self.journal_q) < self.journal_cap:
                self.journal_q.append(
                    (topic, PyBytes_FromStringAndSize(<const char *>data + key_at, KEY_SIZE), seq, payload)
                )
            else:
                self.journal_stats.overflow += 1
        return 0


