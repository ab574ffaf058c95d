# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The worker's tick path compiled end to end: one C call per tick from the vendor's record
to the ingest frame on the socket (issue 19, "worker path ≤ 5 µs per tick").

What was Python glue between compiled pieces is here, in the order a tick meets it:

* ``CtpDepthCore.on_depth`` / ``SimDeliverCore.deliver``: the record's numbers read into C
  (``CtpRecordPath.on_depth``, ``SimRecordPath.deliver`` in ``gateways.kinds.fast_record``:
  vn.py's DBL_MAX and 5-level book rules, the DCE/ActionDay date through ``ExchangeDate``,
  the per-second stamp cache), with no list and no ``TickData``.
* ``CleanseCore``: every rule of ``aggregation.cleanse.Cleanser._check`` over per-contract C
  state (``ContractState``); Python is called only when a tick leaves its contract's cached
  session window (``Cleanser._refresh_session``, the calendar).
* ``EmitCore``: the body (``tick_codec.encode_body``), the content key
  (``wire.content_hash_key``: CPython's own tuple hash, re-done over the same objects) and the
  frame (``Sender.send_tick``) written into one buffer and handed to libzmq's ``zmq_send``
  on the calling thread's own socket (``Sender._socket``), ZMQ_DONTWAIT; a full queue is
  counted in ``Sender.dropped``.

Anything off the usual record (a value that is not a float or a small int, odd milliseconds,
a missing key, a stamp that is not ``HH:MM:SS``) takes the Python path for that tick, which
makes the same frame or counts the same drop (tests/test_fast_path_equivalence.py,
tests/test_emit_core.py). Built by ``python -m aggregation.build_ext``; ``aggregation.emit_core``
falls back to the Python path when it is not built or ``MDHUB_PURE_PYTHON=1``.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItemWithError
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject, PyObject_Hash
from cpython.unicode cimport PyUnicode_GET_LENGTH
from libc.errno cimport EAGAIN
from libc.math cimport isfinite
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy
from posix.time cimport CLOCK_REALTIME, clock_gettime, timespec

from aggregation._msgpack_write cimport put_bytes, put_float, put_int, put_nil

import sys
import threading
import time

import zmq

from aggregation.tick_codec_py import (
    CTP_ADJUSTED,
    CTP_KEYS,
    DEEP_PRICES,
    DEEP_VOLUMES,
    PRICE_INDEX as _PRICE_INDEX,
    QUANTITY_INDEX as _QUANTITY_INDEX,
    _NUMBER_KEYS,
    _TAIL_LOCALTIME,
    _TAIL_RECV,
)
from aggregation.wire import CONTENT_FIELDS, NUMBER_FIELDS

cdef extern from * nogil:
    """
    /* libzmq's ABI, as aggregation/_hub_core.pyx declares it (pyzmq ships no zmq.h). */
    int zmq_send(void *s, const void *buf, size_t len, int flags);
    int zmq_errno(void);
    #define MDHUB_ZMQ_DONTWAIT 1
    """
    int zmq_send(void *s, const void *buf, size_t len, int flags)
    int zmq_errno()
    int MDHUB_ZMQ_DONTWAIT

cdef extern from "Python.h":
    unsigned long PyThread_get_thread_ident()
    int PyUnicode_KIND(object o)
    void* PyUnicode_DATA(object o)
    int PyUnicode_1BYTE_KIND
    long long PyLong_AsLongLongAndOverflow(object o, int* overflow) except? -1

DEF N = 31
DEF BUF = 4096
# Values: 1 a float, 2 an int below 2**53 (exact as a double); anything else takes Python.
DEF K_OTHER = 0
DEF K_FLOAT = 1
DEF K_INT = 2

assert len(NUMBER_FIELDS) == N

cdef struct Values:
    PyObject* obj[N]  # borrowed: from the record, the caller's list, or the constants below
    double d[N]
    char kind[N]

cdef double MAX_FLOAT = sys.float_info.max
cdef double EMPTY_PRICE = 1e300
cdef double EXACT = 9007199254740992.0  # 2**53
cdef int64_t GAP_NS = 3 * 3600 * 1_000_000_000  # aggregation.cleanse.NEW_TRADING_DAY_GAP_NS
cdef int64_t DAY_NS = 86_400 * 1_000_000_000
cdef int64_t HALF_DAY_S = 43_200
cdef int64_t TIME_LIMIT = 1 << 62  # exchange and receive times beyond this take Python
cdef object FLOAT_ZERO = 0.0
cdef object INT_ZERO = 0
cdef object system_clock = time.time_ns

cdef int I_VOLUME = NUMBER_FIELDS.index("volume")
cdef int I_LAST = NUMBER_FIELDS.index("last_price")
cdef int I_UP = NUMBER_FIELDS.index("limit_up")
cdef int I_DOWN = NUMBER_FIELDS.index("limit_down")
cdef int I_BID = NUMBER_FIELDS.index("bid_price_1")
cdef int I_ASK = NUMBER_FIELDS.index("ask_price_1")
cdef int I_BID_VOLUME_2 = NUMBER_FIELDS.index("bid_volume_2")
cdef int I_ASK_VOLUME_2 = NUMBER_FIELDS.index("ask_volume_2")
cdef int DIGIT_AT[6]
DIGIT_AT[:] = [0, 1, 3, 4, 6, 7]  # HH:MM:SS
cdef int PRICES[32]
cdef int N_PRICES = len(_PRICE_INDEX)
cdef int QUANTITIES[8]
cdef int N_QUANTITIES = len(_QUANTITY_INDEX)
cdef int CONTENT[N]
cdef int N_CONTENT = len(CONTENT_FIELDS)
cdef int ADJ[N]
cdef int N_ADJ = len(CTP_ADJUSTED)
cdef int DEEP_P[N]
cdef int N_DEEP_P = len(DEEP_PRICES)
cdef int DEEP_V[N]
cdef int N_DEEP_V = len(DEEP_VOLUMES)
cdef tuple KEYS = CTP_KEYS
cdef tuple NUMBER_KEYS = _NUMBER_KEYS
cdef bytes TAIL_LOCALTIME = _TAIL_LOCALTIME
cdef bytes TAIL_RECV = _TAIL_RECV
assert N_PRICES <= 32 and N_QUANTITIES <= 8


cdef void _fill_indices(int* out, object indices):
    cdef int k = 0
    for i in indices:
        out[k] = i
        k += 1


_fill_indices(PRICES, _PRICE_INDEX)
_fill_indices(QUANTITIES, _QUANTITY_INDEX)
_fill_indices(CONTENT, [NUMBER_FIELDS.index(name) for name in CONTENT_FIELDS])
_fill_indices(ADJ, CTP_ADJUSTED)
_fill_indices(DEEP_P, DEEP_PRICES)
_fill_indices(DEEP_V, DEEP_VOLUMES)

# The rule names, as aggregation.cleanse.RULES spells them.
cdef str PRICE_INVALID = "price_invalid"
cdef str NO_PRICE = "no_price"
cdef str QUANTITY_NEGATIVE = "quantity_negative"
cdef str VOLUME_BACKWARDS = "volume_backwards"
cdef str OUTSIDE_LIMITS = "outside_limits"
cdef str CROSSED_BOOK = "crossed_book"
cdef str CLOCK_SKEW = "clock_skew"
cdef str OUTSIDE_SESSION = "outside_session"
cdef str MALFORMED = "malformed"
# What Cleanser.check_values and the fast paths count as malformed instead of raising.
MALFORMED_ERRORS = (AttributeError, TypeError, ValueError, OverflowError, IndexError)


cdef inline PyObject* dget(dict d, object key) except? NULL:
    """A borrowed value or NULL (no exception save and restore, as ``PyDict_GetItem`` does)."""
    return PyDict_GetItemWithError(d, key)


cdef inline int64_t now_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return <int64_t>ts.tv_sec * 1_000_000_000 + ts.tv_nsec


cdef inline char classify(PyObject* o, double* out) noexcept:
    """K_FLOAT/K_INT with the value in ``out``, or K_OTHER."""
    cdef object v = <object>o
    cdef int overflow = 0
    cdef long long x
    if type(v) is float:
        out[0] = PyFloat_AS_DOUBLE(v)
        return K_FLOAT
    if type(v) is int:
        x = PyLong_AsLongLongAndOverflow(v, &overflow)
        # LL: without it Cython compares through Python ints (a literal past 2**31).
        if overflow or x >= 9007199254740992LL or x <= -9007199254740992LL:
            return K_OTHER
        out[0] = <double>x
        return K_INT
    return K_OTHER


cdef inline bint classify_all(Values* v) noexcept:
    cdef int i
    for i in range(N):
        v.kind[i] = classify(v.obj[i], &v.d[i])
        if v.kind[i] == K_OTHER:
            return False
    return True


cdef inline bint small_time(object t, int64_t* out) noexcept:
    """``t`` as int64 when it is an int within ±2**62."""
    cdef int overflow = 0
    cdef long long x
    if type(t) is not int:
        return False
    x = PyLong_AsLongLongAndOverflow(t, &overflow)
    if overflow or x > TIME_LIMIT or x < -TIME_LIMIT:
        return False
    out[0] = x
    return True


# -- the cleanser's state and rules --------------------------------------------------------

DEF MAX_AUCTIONS = 8


cdef class ContractState:
    """``aggregation.cleanse._ContractState`` in C: the same attributes, for
    ``Cleanser._refresh_session`` to fill."""

    cdef object _last_volume
    cdef double last_volume_d
    cdef bint last_volume_exact
    cdef public int64_t last_time_ns
    cdef public int64_t open_from_ns
    cdef public int64_t open_until_ns
    cdef tuple _auctions
    cdef int n_auctions  # -1: more windows than the C arrays hold, read the tuple
    cdef int64_t auction_from[MAX_AUCTIONS]
    cdef int64_t auction_until[MAX_AUCTIONS]

    def __init__(self) -> None:
        self.last_volume = -1.0
        self._auctions = ()
        self.n_auctions = 0

    @property
    def last_volume(self):
        return self._last_volume

    @last_volume.setter
    def last_volume(self, value):
        self._last_volume = value
        self.last_volume_exact = classify(<PyObject*>value, &self.last_volume_d) != K_OTHER

    @property
    def auctions(self):
        return self._auctions

    @auctions.setter
    def auctions(self, value):
        cdef tuple windows = tuple(value)
        cdef int k = 0
        cdef int64_t a, b
        self._auctions = windows
        if len(windows) > MAX_AUCTIONS:
            self.n_auctions = -1
            return
        for start, end in windows:
            if not (small_time(start, &a) and small_time(end, &b)):
                self.n_auctions = -1
                return
            self.auction_from[k] = a
            self.auction_until[k] = b
            k += 1
        self.n_auctions = k

    cdef inline bint in_auction(self, int64_t dt) except -1:
        cdef int k
        if self.n_auctions < 0:
            return any(start <= dt < end for start, end in self._auctions)
        for k in range(self.n_auctions):
            if self.auction_from[k] <= dt < self.auction_until[k]:
                return True
        return False


cdef class CleanseCore:
    """``Cleanser``'s rules and counters over C state; the ``Cleanser`` (``cleanser``) keeps
    its public face and calls ``configure`` when one of its settings changes."""

    cdef public object cleanser
    cdef public dict contracts
    cdef public object drops
    cdef public long long passed
    cdef bint has_calendar
    cdef int64_t max_skew_ns
    cdef object max_skew_obj
    cdef object clock_ns
    cdef bint system_clock
    cdef object refresh_session

    def __init__(self, cleanser) -> None:
        self.cleanser = cleanser
        self.passed = 0
        self.configure()

    def configure(self) -> None:
        cleanser = self.cleanser
        self.contracts = cleanser._contracts
        self.drops = cleanser.drops
        self.has_calendar = cleanser.calendar is not None
        self.max_skew_obj = cleanser.max_skew_ns
        if not small_time(self.max_skew_obj, &self.max_skew_ns):
            self.max_skew_ns = -1  # not an ordinary int: compared in Python
        self.clock_ns = cleanser.clock_ns
        self.system_clock = self.clock_ns is system_clock
        self.refresh_session = cleanser._refresh_session

    cdef inline ContractState state_of(self, str vt_symbol):
        cdef PyObject* found = dget(self.contracts, vt_symbol)
        cdef ContractState state
        if found != NULL and type(<object>found) is ContractState:
            return <ContractState>found
        state = ContractState()
        self.contracts[vt_symbol] = state
        return state

    cdef inline void count(self, object rule):
        if rule is None:
            self.passed += 1
        else:
            self.drops[rule] += 1

    cdef object fast_rule(self, str vt_symbol, Values* v, int64_t dt, list numbers):
        """The rules for a tick whose every value is a float or a small int and whose time is
        an ordinary int64; empty prices become 0.0 in ``v`` (and in ``numbers`` if given)."""
        cdef int k, i
        cdef double price
        cdef ContractState state
        cdef int64_t now
        cdef double volume, last, up, down, bid, ask
        cdef bint in_auction = False
        # Stateless rules (aggregation.tick_codec_py.stateless_rule).
        for k in range(N_PRICES):
            price = v.d[PRICES[k]]
            if not isfinite(price) or price < 0:
                return PRICE_INVALID
        for k in range(N_PRICES):
            i = PRICES[k]
            if v.d[i] >= EMPTY_PRICE:
                v.d[i] = 0.0
                v.obj[i] = <PyObject*>FLOAT_ZERO
                v.kind[i] = K_FLOAT
                if numbers is not None:
                    numbers[i] = FLOAT_ZERO
        last, bid, ask = v.d[I_LAST], v.d[I_BID], v.d[I_ASK]
        if last == 0 and bid == 0 and ask == 0:
            return NO_PRICE
        for k in range(N_QUANTITIES):
            price = v.d[QUANTITIES[k]]
            if not isfinite(price) or price < 0:
                return QUANTITY_NEGATIVE
        # Stateful rules (Cleanser._check).
        state = self.state_of(vt_symbol)
        if dt - state.last_time_ns > GAP_NS:
            state.last_volume = -1.0
        volume = v.d[I_VOLUME]
        if state.last_volume_exact:
            if volume < state.last_volume_d:
                return VOLUME_BACKWARDS
        elif <object>v.obj[I_VOLUME] < state._last_volume:
            return VOLUME_BACKWARDS
        up, down = v.d[I_UP], v.d[I_DOWN]
        if last != 0 and up != 0 and down != 0 and not (down <= last <= up):
            return OUTSIDE_LIMITS
        if self.system_clock and self.max_skew_ns >= 0:
            now = now_ns()
            if (dt - now if dt >= now else now - dt) > self.max_skew_ns:
                return CLOCK_SKEW
        elif abs(dt - self.clock_ns()) > self.max_skew_obj:
            return CLOCK_SKEW
        if self.has_calendar:
            if not (state.open_from_ns <= dt < state.open_until_ns) and not self.refresh_session(
                vt_symbol, dt, state
            ):
                return OUTSIDE_SESSION
            in_auction = state.in_auction(dt)
        if bid != 0 and ask != 0 and bid >= ask and not in_auction:
            return CROSSED_BOOK
        state._last_volume = <object>v.obj[I_VOLUME]
        state.last_volume_d = volume
        state.last_volume_exact = True
        state.last_time_ns = dt
        return None

    cdef object slow_rule(self, str vt_symbol, list numbers, object dt_ns):
        """``Cleanser._check`` word for word, over Python objects (any value, any time)."""
        from aggregation.tick_codec import stateless_rule

        rule = stateless_rule(numbers)
        if rule is not None:
            return rule
        last = numbers[I_LAST]
        bid, ask = numbers[I_BID], numbers[I_ASK]
        state = self.state_of(vt_symbol)
        if dt_ns - state.last_time_ns > GAP_NS:
            state.last_volume = -1.0
        volume = numbers[I_VOLUME]
        if volume < state.last_volume:
            return VOLUME_BACKWARDS
        up, down = numbers[I_UP], numbers[I_DOWN]
        if last and up and down and not down <= last <= up:
            return OUTSIDE_LIMITS
        if abs(dt_ns - self.clock_ns()) > self.max_skew_obj:
            return CLOCK_SKEW
        in_auction = False
        if self.has_calendar:
            if not state.open_from_ns <= dt_ns < state.open_until_ns and not self.refresh_session(
                vt_symbol, dt_ns, state
            ):
                return OUTSIDE_SESSION
            in_auction = any(start <= dt_ns < end for start, end in state.auctions)
        if bid and ask and bid >= ask and not in_auction:
            return CROSSED_BOOK
        state.last_volume = volume
        state.last_time_ns = dt_ns  # OverflowError past int64 ns (year 2262): malformed
        return None

    def rule(self, str vt_symbol, list numbers, object dt_ns):
        """``Cleanser._check``: the first rule the tick breaks or None, uncounted; raises what
        the Python rules raise."""
        cdef Values v
        cdef int64_t dt
        cdef int i
        if PyList_GET_SIZE(numbers) == N and small_time(dt_ns, &dt):
            for i in range(N):
                v.obj[i] = PyList_GET_ITEM(numbers, i)
            if classify_all(&v):
                return self.fast_rule(vt_symbol, &v, dt, numbers)
        return self.slow_rule(vt_symbol, numbers, dt_ns)

    def check_values(self, str vt_symbol, list numbers, object dt_ns):
        """``Cleanser.check_values``: the rule, counted; a value the rules cannot read is
        ``malformed``."""
        try:
            rule = self.rule(vt_symbol, numbers, dt_ns)
        except MALFORMED_ERRORS:
            rule = MALFORMED
        self.count(rule)
        return rule


# -- msgpack (aggregation/_msgpack_write.pxd, as the tick codec writes it) ------------------


cdef inline Py_ssize_t put_value(unsigned char* p, Values* v, int i) noexcept:
    if v.kind[i] == K_FLOAT:
        return put_float(p, v.d[i])
    return put_int(p, <int64_t>v.d[i])


cdef inline Py_ssize_t put_body(unsigned char* p, bytes prefix, Values* v, int64_t dt, int64_t recv) noexcept:
    """``tick_codec.encode_body(prefix, numbers, dt, None, recv)``; the caller checked the room."""
    cdef Py_ssize_t at = put_bytes(p, prefix)
    cdef int i
    at += put_int(p + at, dt)
    for i in range(N):
        at += put_bytes(p + at, <bytes>NUMBER_KEYS[i])
        at += put_value(p + at, v, i)
    at += put_bytes(p + at, TAIL_LOCALTIME)
    at += put_nil(p + at)  # localtime: None
    at += put_bytes(p + at, TAIL_RECV)
    at += put_int(p + at, recv)
    return at


# CPython 3.12's tuple hash (Objects/tupleobject.c, xxHash-based), so the key is the one
# ``hash(tuple(...))`` gives (wire.content_hash_key) without building the tuple.
cdef uint64_t XXPRIME_1 = 11400714785074694791ULL
cdef uint64_t XXPRIME_2 = 14029467366897019727ULL
cdef uint64_t XXPRIME_5 = 2870177450012600261ULL


cdef inline int64_t content_hash(Values* v) except? -1:
    cdef uint64_t acc = XXPRIME_5
    cdef uint64_t lane
    cdef int k
    for k in range(N_CONTENT):
        lane = <uint64_t>PyObject_Hash(<object>v.obj[CONTENT[k]])
        acc += lane * XXPRIME_2
        acc = (acc << 31) | (acc >> 33)
        acc *= XXPRIME_1
    acc += <uint64_t>N_CONTENT ^ (XXPRIME_5 ^ 3527539UL)
    if acc == <uint64_t>-1:
        return 1546275796
    return <int64_t>acc


cdef inline void put_u64(unsigned char* p, uint64_t v) noexcept:
    cdef int i
    for i in range(8):
        p[i] = (v >> (8 * (7 - i))) & 0xFF


cdef inline void put_key(unsigned char* p, int64_t dt, int64_t h) noexcept:
    """``struct.pack(">qq", dt, h)``."""
    put_u64(p, <uint64_t>dt)
    put_u64(p + 8, <uint64_t>h)


def content_key_of(list numbers, object dt_ns):
    """The key ``EmitCore`` writes, for tests: ``wire.content_hash_key`` of the same values."""
    cdef Values v
    cdef unsigned char buf[17]
    cdef int64_t dt
    cdef int i
    if PyList_GET_SIZE(numbers) != N or not small_time(dt_ns, &dt):
        raise ValueError("31 numbers and an int64 time")
    for i in range(N):
        v.obj[i] = PyList_GET_ITEM(numbers, i)
    if not classify_all(&v):
        raise ValueError("floats and small ints only")
    put_key(buf + 1, dt, content_hash(&v))
    return PyBytes_FromStringAndSize(<char*>buf + 1, 16)


# -- the emitter: cleanse, encode, key, send -------------------------------------------------


cdef class EmitCore:
    """``TickEmitter.emit_numbers`` and its counters (``received``, ``sent``)."""

    cdef public long long received
    cdef public long long sent
    cdef public CleanseCore cleanse
    cdef object sender
    cdef bint direct  # a real Sender: frames go to zmq_send here
    cdef dict heads
    cdef object account
    cdef unsigned long thread
    cdef void* handle
    cdef object socket  # kept alive with its handle
    cdef object slow_encode
    cdef object slow_key

    def __init__(self, sender, CleanseCore cleanse, bint direct) -> None:
        """``direct``: ``sender`` is a plain ``gateways.kinds.base.Sender`` (its ``_socket``,
        ``_heads``, ``dropped``), so frames go to ``zmq_send`` here; else its ``send_tick``
        (a test's capturing sender) is called."""
        from aggregation.tick_codec import encode_body
        from aggregation.wire import content_hash_key

        self.cleanse = cleanse
        self.sender = sender
        self.direct = direct
        self.heads = sender._heads if self.direct else {}
        self.account = sender.account if direct else None
        self.thread = 0
        self.handle = NULL
        self.slow_encode = encode_body
        self.slow_key = content_hash_key

    def emit_numbers(self, str vt_symbol, bytes topic, bytes prefix, list numbers, object dt_ns, object recv_ns):
        cdef Values v
        cdef int64_t dt, recv
        cdef int i
        if PyList_GET_SIZE(numbers) == N and small_time(dt_ns, &dt) and small_time(recv_ns, &recv):
            for i in range(N):
                v.obj[i] = PyList_GET_ITEM(numbers, i)
            if classify_all(&v):
                self.emit_values(vt_symbol, topic, prefix, &v, dt, recv, numbers)
                return
        self.emit_slow(vt_symbol, topic, prefix, numbers, dt_ns, recv_ns)

    cdef emit_slow(self, str vt_symbol, bytes topic, bytes prefix, list numbers, object dt_ns, object recv_ns):
        """What ``TickEmitter.emit_numbers`` did in Python, for the ticks the C path does not take."""
        self.received += 1
        if self.cleanse.check_values(vt_symbol, numbers, dt_ns) is not None:
            return
        body = self.slow_encode(prefix, numbers, dt_ns, None, recv_ns)
        self.sender.send_tick(topic, self.slow_key(dt_ns, numbers), body)
        self.sent += 1

    cdef int emit_values(
        self, str vt_symbol, bytes topic, bytes prefix, Values* v, int64_t dt, int64_t recv, list numbers
    ) except -1:
        cdef unsigned char buf[BUF]
        cdef Py_ssize_t at, head_size
        cdef PyObject* found
        cdef bytes head
        cdef int rc
        cdef unsigned long ident
        self.received += 1
        try:
            rule = self.cleanse.fast_rule(vt_symbol, v, dt, numbers)
        except MALFORMED_ERRORS:
            rule = MALFORMED
        self.cleanse.count(rule)
        if rule is not None:
            return 0
        if PyBytes_GET_SIZE(prefix) > BUF - 1500:  # a huge name: Python's way, same bytes
            self.sender.send_tick(topic, self.key_bytes(v, dt), self.body_bytes(prefix, v, dt, recv))
            self.sent += 1
            return 0
        if not self.direct:
            self.sender.send_tick(topic, self.key_bytes(v, dt), self.body_bytes(prefix, v, dt, recv))
            self.sent += 1
            return 0
        found = dget(self.heads, topic)
        if found == NULL:
            from aggregation.wire import tick_head

            head = tick_head(self.account, topic)
            self.heads[topic] = head
        else:
            head = <bytes>found
        head_size = PyBytes_GET_SIZE(head)
        memcpy(buf, PyBytes_AS_STRING(head), head_size)
        put_key(buf + head_size, dt, content_hash(v))
        at = head_size + 16
        at += put_body(buf + at, prefix, v, dt, recv)
        # One socket per OS thread (Sender._socket says why): the last thread's handle is
        # kept, another thread asks the Sender for its own.
        ident = PyThread_get_thread_ident()
        if ident != self.thread or self.handle == NULL:
            self.socket = self.sender._socket()
            self.handle = <void*><size_t>self.socket.underlying
            self.thread = ident
        rc = zmq_send(self.handle, buf, at, MDHUB_ZMQ_DONTWAIT)
        if rc < 0:
            if zmq_errno() != EAGAIN:
                raise zmq.ZMQError(zmq_errno())
            # A full queue (or no hub): dropped and counted, as Sender.send_tick does; the
            # tick still counts as sent by the emitter, as the Python path counts it.
            self.sender.dropped += 1
        self.sent += 1
        return 0

    cdef bytes key_bytes(self, Values* v, int64_t dt):
        cdef unsigned char buf[17]
        put_key(buf + 1, dt, content_hash(v))
        return PyBytes_FromStringAndSize(<char*>buf + 1, 16)

    cdef bytes body_bytes(self, bytes prefix, Values* v, int64_t dt, int64_t recv):
        cdef unsigned char buf[BUF]
        cdef Py_ssize_t n
        if PyBytes_GET_SIZE(prefix) > BUF - 1500:
            numbers = [<object>v.obj[i] for i in range(N)]
            return self.slow_encode(prefix, numbers, dt, None, recv)
        n = put_body(buf, prefix, v, dt, recv)
        return PyBytes_FromStringAndSize(<char*>buf, n)

    cdef inline void count_malformed(self):
        self.received += 1
        self.cleanse.drops[MALFORMED] += 1


# -- the vendor callbacks -------------------------------------------------------------------


cdef inline int digit(const unsigned char* s, int i) noexcept:
    cdef int c = s[i] - 48
    return c if 0 <= c <= 9 else -1


cdef class CtpDepthCore:
    """``CtpRecordPath.on_depth`` (gateways.kinds.fast_record) for the usual record; any other
    record goes to the Python ``path.on_depth_py``, which does what it always did."""

    cdef EmitCore emit
    cdef object path
    cdef dict contract_map
    cdef dict meta
    cdef object stamps_second
    cdef object date_for
    cdef object md_api
    cdef bint sopt
    # ExchangeDate.for_time in C while its day holds (only with the system clock).
    cdef object exchange_date
    cdef int64_t day_start_ns
    cdef tuple dates
    # The last (date, update_time) → epoch ns of that second: one round shares it.
    cdef str last_date
    cdef str last_time
    cdef int64_t last_second_ns

    def __init__(self, path, EmitCore emit, exchange_date=None) -> None:
        """``exchange_date``: the ``gateways.exchange_date.ExchangeDate`` whose ``for_time``
        is ``path.date_for``, when it runs on the system clock (its day is then read here),
        else None (``path.date_for`` is called)."""
        self.emit = emit
        self.path = path
        self.contract_map = path.contract_map
        self.meta = path._meta
        self.stamps_second = path.stamps.second
        self.date_for = path.date_for
        self.md_api = path.md_api
        self.sopt = path.sopt
        self.exchange_date = None
        if exchange_date is not None and exchange_date.clock_ns is system_clock:
            self.exchange_date = exchange_date
        self.day_start_ns = 0
        self.dates = None
        self.last_date = None
        self.last_time = None

    cdef object day_date(self, str update_time):
        """``ExchangeDate.for_time(update_time)``."""
        cdef int64_t now, offset, tick_s, diff
        cdef const unsigned char* s
        cdef int d[6]
        cdef int k
        if self.exchange_date is None or self.dates is None:
            return self.refresh_date(update_time)
        now = now_ns()
        offset = now - self.day_start_ns
        if not (0 <= offset < DAY_NS):
            return self.refresh_date(update_time)
        if PyUnicode_KIND(update_time) != PyUnicode_1BYTE_KIND or PyUnicode_GET_LENGTH(update_time) < 8:
            return self.date_for(update_time)
        s = <const unsigned char*>PyUnicode_DATA(update_time)
        for k in range(6):
            d[k] = digit(s, DIGIT_AT[k])
            if d[k] < 0:
                return self.date_for(update_time)  # int() reads more than digits: ask it
        tick_s = (d[0] * 10 + d[1]) * 3600 + (d[2] * 10 + d[3]) * 60 + d[4] * 10 + d[5]
        diff = tick_s - offset // 1_000_000_000
        if diff > HALF_DAY_S:
            return self.dates[0]
        if diff < -HALF_DAY_S:
            return self.dates[2]
        return self.dates[1]

    cdef object refresh_date(self, str update_time):
        date = self.date_for(update_time)  # a new day: ExchangeDate computes it
        if self.exchange_date is not None:
            self.day_start_ns = self.exchange_date._day_start_ns
            self.dates = self.exchange_date._dates
        return date

    def on_depth(self, data):
        cdef int64_t recv = now_ns()
        cdef PyObject* found
        cdef Values v
        cdef int i, k
        cdef int64_t second, fraction
        cdef long long millis
        cdef int overflow = 0
        cdef tuple meta
        cdef object key
        cdef EmitCore emit = self.emit
        if type(data) is not dict:
            return self.path.on_depth_py(data)
        found = dget(data, "UpdateTime")
        if found == NULL or type(<object>found) is not str:
            return self.path.on_depth_py(data)
        update_time = <str>found
        if not update_time:
            return None  # vn.py: a record without a time stamp is no tick
        found = dget(data, "InstrumentID")
        if found == NULL or type(<object>found) is not str:
            return self.path.on_depth_py(data)
        symbol = <str>found
        found = dget(self.contract_map, symbol)
        if found == NULL or <object>found is None:
            return None  # vn.py: nothing before the contract is known
        contract = <object>found
        found = dget(self.meta, symbol)
        if found == NULL or (<tuple>found)[0] is not contract:
            return self.path.on_depth_py(data)  # it builds the contract's meta
        meta = <tuple>found
        found = dget(data, "UpdateMillisec")
        if found == NULL or type(<object>found) is not int:
            return self.path.on_depth_py(data)
        millis = PyLong_AsLongLongAndOverflow(<object>found, &overflow)
        if overflow or not (0 <= millis <= 999):
            return self.path.on_depth_py(data)
        if self.sopt:
            found = dget(data, "TradingDay")
            if found == NULL or type(<object>found) is not str:
                return self.path.on_depth_py(data)
            date = <str>found
            fraction = millis // 100 * 100_000_000
        else:
            found = dget(data, "ActionDay")
            if found == NULL or type(<object>found) is not str:
                return self.path.on_depth_py(data)
            date = <str>found
            if not date or meta[4]:
                date = self.day_date(update_time)
                if type(date) is not str:
                    return self.path.on_depth_py(data)
                if self.md_api is not None:
                    self.md_api.current_date = date  # as the vn.py path leaves it
            fraction = millis * 1_000_000
        # The numbers, as ctp_numbers reads them (borrowed from the record).
        for i in range(N):
            key = KEYS[i]
            if key is None:
                v.obj[i] = <PyObject*>INT_ZERO
                continue
            found = dget(data, key)
            if found == NULL:
                return self.path.on_depth_py(data)
            v.obj[i] = found
        if not classify_all(&v):
            return self.path.on_depth_py(data)
        if not self.sopt:
            for k in range(N_ADJ):
                i = ADJ[k]
                if v.d[i] == MAX_FLOAT:
                    v.obj[i] = <PyObject*>INT_ZERO
                    v.d[i] = 0
                    v.kind[i] = K_INT
            if v.d[I_BID_VOLUME_2] != 0 or v.d[I_ASK_VOLUME_2] != 0:
                for k in range(N_DEEP_P):
                    i = DEEP_P[k]
                    if v.d[i] == MAX_FLOAT:
                        v.obj[i] = <PyObject*>INT_ZERO
                        v.d[i] = 0
                        v.kind[i] = K_INT
            else:
                for k in range(N_DEEP_P):
                    i = DEEP_P[k]
                    v.obj[i] = <PyObject*>INT_ZERO
                    v.d[i] = 0
                    v.kind[i] = K_INT
                for k in range(N_DEEP_V):
                    i = DEEP_V[k]
                    v.obj[i] = <PyObject*>INT_ZERO
                    v.d[i] = 0
                    v.kind[i] = K_INT
        if self.last_time is not None and update_time == self.last_time and date == self.last_date:
            second = self.last_second_ns
        else:
            try:
                ns = self.stamps_second(date, update_time)
            except (KeyError, TypeError, ValueError, OverflowError, AttributeError):
                emit.count_malformed()
                return None
            if not small_time(ns, &second):
                return self.path.on_depth_py(data)
            self.last_date, self.last_time, self.last_second_ns = date, update_time, second
        emit.emit_values(meta[1], meta[2], meta[3], &v, second + fraction, recv, None)
        return None


cdef class SimDeliverCore:
    """``SimRecordPath.deliver`` for the usual snapshot; any other goes to ``path.deliver_py``."""

    cdef EmitCore emit
    cdef object path
    cdef dict meta
    cdef dict by_symbol
    cdef tuple fields

    def __init__(self, path, EmitCore emit) -> None:
        self.emit = emit
        self.path = path
        self.meta = path._meta
        self.by_symbol = {}
        self.fields = NUMBER_FIELDS

    def deliver(self, snap):
        cdef int64_t recv = now_ns()
        cdef int64_t stamp
        cdef PyObject* found
        cdef Values v
        cdef int i
        cdef tuple meta
        if type(snap) is not dict:
            return self.path.deliver_py(snap)
        found = dget(snap, "datetime")
        if found == NULL or not small_time(<object>found, &stamp) or dget(snap, "localtime") != NULL:
            return self.path.deliver_py(snap)
        # symbol → (exchange, name, meta): no (symbol, exchange, name) tuple per snapshot.
        found = dget(snap, "symbol")
        if found == NULL:
            return self.path.deliver_py(snap)
        symbol = <object>found
        found = dget(self.by_symbol, symbol) if type(symbol) is str else NULL
        exchange = (<dict>snap).get("exchange")
        name = (<dict>snap).get("name")
        if found == NULL or (<tuple>found)[0] != exchange or (<tuple>found)[1] != name:
            found = dget(self.meta, (symbol, exchange, name))
            if found == NULL:
                return self.path.deliver_py(snap)  # it builds the contract's meta (or refuses)
            if type(symbol) is str and type(exchange) is str and type(name) is str:
                self.by_symbol[symbol] = (exchange, name, <tuple>found)
            meta = <tuple>found
        else:
            meta = <tuple>(<tuple>found)[2]
        for i in range(N):
            found = dget(snap, self.fields[i])
            if found == NULL:
                return self.path.deliver_py(snap)
            v.obj[i] = found
        if not classify_all(&v):
            return self.path.deliver_py(snap)
        # vn.py's datetime keeps microseconds (SimRecordPath.deliver says why).
        stamp -= stamp % 1_000 if stamp >= 0 else (stamp % 1_000 + 1_000) % 1_000
        self.emit.emit_values(meta[0], meta[1], meta[2], &v, stamp, recv, None)
        return True
