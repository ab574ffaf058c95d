# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The journal writer's per-tick work, compiled: framing a batch (``aggregation.journal_format``'s
records, byte for byte) and adding it to the day's index (``aggregation.journal.Day.add``).

Why: the writer is a thread of the hub's process, so while it frames in Python it holds the
GIL the hub's tick path waits for (docs/journal.md, "Cost"), and every time it takes the GIL
back it waits for the end of one of the hub's batches. Here the GIL is held only to read the
batch's tuples and to index it (some tens of ns a tick, no object made per tick); copying
the payloads, their CRCs (``zlib.crc32``'s, folded with PCLMULQDQ: ``_crc32_fold.h``) and the
``write`` run without it, in one stretch: two GIL hand-offs a batch. ``tests/test_journal.py`` and
``tests/test_hub_core_property.py`` check the records against the Python framing.
"""

cimport cpython.array as carray
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from libc.errno cimport EINTR, errno
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from posix.unistd cimport write as c_write

cdef extern from "_crc32_fold.h" nogil:
    # zlib's crc32, folded with PCLMULQDQ where the CPU has it (aggregation/_crc32_fold.h).
    uint32_t mdhub_crc32(uint32_t crc, const unsigned char *buf, size_t len)

cdef extern from * nogil:
    """
    #define mdhub_bytes_data(o) PyBytes_AS_STRING(o)
    #define mdhub_bytes_size(o) PyBytes_GET_SIZE(o)
    static inline void mdhub_put32(unsigned char *p, uint32_t v) { v = __builtin_bswap32(v); memcpy(p, &v, 4); }
    static inline void mdhub_put64(unsigned char *p, int64_t v) { uint64_t u = __builtin_bswap64((uint64_t)v); memcpy(p, &u, 8); }
    static inline int64_t mdhub_get64(const unsigned char *p) { uint64_t u; memcpy(&u, p, 8); return (int64_t)__builtin_bswap64(u); }
    """
    const char *mdhub_bytes_data(PyObject *o)
    Py_ssize_t mdhub_bytes_size(PyObject *o)
    void mdhub_put32(unsigned char *p, uint32_t v)
    void mdhub_put64(unsigned char *p, int64_t v)
    int64_t mdhub_get64(const unsigned char *p)

cdef enum:
    HEADER = 8  # u32 length + u32 crc32
    NUMS = 24  # i64 x 3


cdef struct Piece:
    const unsigned char *topic
    Py_ssize_t topic_len
    const unsigned char *payload
    Py_ssize_t payload_len
    int64_t seq
    int64_t exchange_ns
    int64_t hole_from  # 0: no hole before this tick
    int64_t hole_to


cdef inline Py_ssize_t write_record(unsigned char *out, char kind, const Piece *p, int64_t epoch,
                                    int64_t a, int64_t b, int64_t c, const unsigned char *tail,
                                    Py_ssize_t tail_len) noexcept nogil:
    """One record at ``out``: header, ``kind + u8 len(topic) + topic + i64 a, b, c + tail``."""
    cdef unsigned char *body = out + HEADER
    cdef Py_ssize_t length = 2 + p.topic_len + NUMS + tail_len
    body[0] = kind
    body[1] = <unsigned char>p.topic_len
    memcpy(body + 2, p.topic, p.topic_len)
    mdhub_put64(body + 2 + p.topic_len, a)
    mdhub_put64(body + 10 + p.topic_len, b)
    mdhub_put64(body + 18 + p.topic_len, c)
    if tail_len:
        memcpy(body + 2 + p.topic_len + NUMS, tail, tail_len)
    mdhub_put32(out, <uint32_t>length)
    mdhub_put32(out + 4, mdhub_crc32(0, body, length))
    return HEADER + length


cdef class Entries:
    """The index entries of a framed batch: ``(topic, seq, offset, exchange_ns)`` per tick
    record, kept in C arrays (``as_tuples`` for tests)."""

    cdef list topics
    cdef int64_t *seq
    cdef int64_t *offset
    cdef int64_t *exchange_ns
    cdef Py_ssize_t n

    def __cinit__(self, Py_ssize_t capacity) -> None:
        self.topics = []
        self.n = 0
        self.seq = <int64_t *>malloc((capacity + 1) * sizeof(int64_t))
        self.offset = <int64_t *>malloc((capacity + 1) * sizeof(int64_t))
        self.exchange_ns = <int64_t *>malloc((capacity + 1) * sizeof(int64_t))
        if self.seq == NULL or self.offset == NULL or self.exchange_ns == NULL:
            raise MemoryError()

    def __dealloc__(self) -> None:
        free(self.seq)
        free(self.offset)
        free(self.exchange_ns)

    def __len__(self) -> int:
        return self.n

    def as_tuples(self) -> list:
        return [(self.topics[i], self.seq[i], self.offset[i], self.exchange_ns[i]) for i in range(self.n)]


cdef class HandOff:
    """The hub's hand-off to the writer thread: a bounded ring of ``(topic, seq, exchange_ns,
    payload)``. The compiled hub core pushes with a C call and no object made per tick (a
    tuple, its key and seq were three); the writer takes a batch at once. Both sides run
    with the GIL, which orders them; the writer owns what it took before it lets go of it."""

    def __cinit__(self, Py_ssize_t capacity) -> None:
        if capacity < 1:
            raise ValueError("a hand-off holds at least one tick")
        self.cap = capacity
        self.head = self.count = 0
        self.ring = <In *>malloc(capacity * sizeof(In))
        if self.ring == NULL:
            raise MemoryError()

    def __dealloc__(self) -> None:
        cdef Py_ssize_t k
        cdef In *slot
        if self.ring != NULL:
            for k in range(self.count):
                slot = &self.ring[(self.head + k) % self.cap]
                Py_XDECREF(slot.topic)
                Py_XDECREF(slot.payload)
            free(self.ring)

    def __len__(self) -> int:
        return self.count

    @property
    def capacity(self) -> int:
        return self.cap

    cdef bint push(self, bytes topic, bytes payload, int64_t seq, int64_t exchange_ns) noexcept:
        """Queue one tick; False when the ring is full (the caller counts the overflow)."""
        cdef Py_ssize_t i
        cdef In *slot
        if self.count == self.cap:
            return False
        i = self.head + self.count
        if i >= self.cap:
            i -= self.cap
        slot = &self.ring[i]
        Py_INCREF(topic)
        Py_INCREF(payload)
        slot.topic = <PyObject *>topic
        slot.payload = <PyObject *>payload
        slot.seq = seq
        slot.exchange_ns = exchange_ns
        self.count += 1
        return True

    def append(self, tuple item) -> None:
        """``deque.append`` for the hub's Python loop: ``(topic, key, seq, payload)``; the
        caller has checked the length against the capacity."""
        topic, key, seq, payload = item
        if PyBytes_GET_SIZE(key) < 8:
            raise ValueError("journal: a short key")
        if not self.push(topic, payload, seq, mdhub_get64(<const unsigned char *>PyBytes_AS_STRING(key))):
            raise OverflowError("journal hand-off full")

    cdef Py_ssize_t take(self, In *out, Py_ssize_t n) noexcept:
        """Move up to ``n`` ticks into ``out`` (their references with them)."""
        cdef Py_ssize_t k
        if n > self.count:
            n = self.count
        for k in range(n):
            out[k] = self.ring[self.head]
            self.head += 1
            if self.head == self.cap:
                self.head = 0
        self.count -= n
        return n

    def drop(self, Py_ssize_t n) -> int:
        """Take up to ``n`` ticks and let them go (the writer is failing: they are lost)."""
        cdef In *tmp = <In *>malloc((n + 1) * sizeof(In))
        cdef Py_ssize_t got, k
        if tmp == NULL:
            raise MemoryError()
        got = self.take(tmp, n)
        for k in range(got):
            Py_XDECREF(tmp[k].topic)
            Py_XDECREF(tmp[k].payload)
        free(tmp)
        return got


def frame_batch(list items, int64_t epoch, dict last, int64_t at, int fd=-1):
    """``aggregation.journal.Journal.write_batch``'s framing (and, given ``fd``, its write) of
    a batch of ``(topic, key, seq, payload)``: ``(data, size, err, done, entries, holes,
    new_last, end)``.

    ``data`` is the framed bytes when ``fd`` < 0, else None: they were written to ``fd``
    (``done`` bytes of ``size``; ``err`` the errno that stopped the write, 0 when all went).
    ``entries`` are the tick records' index entries (``Entries``), ``holes`` ``(topic,
    from_seq, to_seq)`` of the hole records put before a seq jump, ``new_last`` the batch's
    last seq per topic, ``end`` the offset after the batch. ``last`` (the committed seqs) is
    only read."""
    cdef Py_ssize_t n = len(items), k
    cdef In *ins = <In *>malloc((n + 1) * sizeof(In))
    cdef bytes topic, key, payload
    if ins == NULL:
        raise MemoryError()
    try:
        for k in range(n):
            topic, key, seq, payload = items[k]
            if PyBytes_GET_SIZE(key) < 8:
                raise ValueError("journal: a short key")
            # Borrowed: ``items`` holds them.
            ins[k].topic = <PyObject *>topic
            ins[k].payload = <PyObject *>payload
            ins[k].seq = seq
            ins[k].exchange_ns = mdhub_get64(<const unsigned char *>PyBytes_AS_STRING(key))
        return frame(ins, n, epoch, last, at, fd)
    finally:
        free(ins)


def frame_from(HandOff handoff, Py_ssize_t n, int64_t epoch, dict last, int64_t at, int fd):
    """``frame_batch`` of up to ``n`` ticks taken from ``handoff`` (the writer thread); the
    ninth item is how many were taken."""
    cdef In *ins = <In *>malloc((n + 1) * sizeof(In))
    cdef Py_ssize_t got = 0, k
    if ins == NULL:
        raise MemoryError()
    try:
        got = handoff.take(ins, n)
        return frame(ins, got, epoch, last, at, fd) + (got,)
    finally:
        for k in range(got):
            Py_XDECREF(ins[k].topic)
            Py_XDECREF(ins[k].payload)
        free(ins)


cdef tuple frame(In *ins, Py_ssize_t n, int64_t epoch, dict last, int64_t at, int fd):
    cdef Py_ssize_t count = 0, i, k
    cdef Piece *pieces = <Piece *>malloc((n + 1) * sizeof(Piece))
    cdef Piece *p
    cdef int64_t prev, seq
    cdef Py_ssize_t size = 0, tlen, done = 0, rc
    cdef int err = 0
    cdef bytes topic
    cdef Entries entries = Entries(n)
    cdef list holes = []
    cdef dict new_last = {}
    cdef bytes data = None
    cdef unsigned char *buf = NULL
    cdef unsigned char *out
    if pieces == NULL:
        raise MemoryError()
    try:
        for k in range(n):
            topic = <bytes>ins[k].topic
            seq = ins[k].seq
            found = new_last.get(topic)
            if found is None:
                found = last.get(topic, 0)
            prev = found
            p = &pieces[count]
            p.hole_from = 0
            if seq != prev + 1:
                if seq <= prev:
                    continue  # cannot happen (the hub's seq only grows); never write it twice
                p.hole_from, p.hole_to = prev + 1, seq - 1
                holes.append((topic, prev + 1, seq - 1))
                at += HEADER + 2 + PyBytes_GET_SIZE(topic) + NUMS
                size += HEADER + 2 + PyBytes_GET_SIZE(topic) + NUMS
            tlen = PyBytes_GET_SIZE(topic)
            if tlen > 255:
                raise ValueError("journal: a topic longer than 255 bytes")
            p.topic = <const unsigned char *>PyBytes_AS_STRING(topic)
            p.topic_len = tlen
            p.payload = <const unsigned char *>mdhub_bytes_data(ins[k].payload)
            p.payload_len = mdhub_bytes_size(ins[k].payload)
            p.seq = seq
            p.exchange_ns = ins[k].exchange_ns
            entries.topics.append(topic)
            entries.seq[count] = seq
            entries.offset[count] = at
            entries.exchange_ns[count] = p.exchange_ns
            at += HEADER + 2 + tlen + NUMS + p.payload_len
            size += HEADER + 2 + tlen + NUMS + p.payload_len
            new_last[topic] = seq
            count += 1
        entries.n = count
        if fd < 0:
            data = PyBytes_FromStringAndSize(NULL, size)
            buf = <unsigned char *>PyBytes_AS_STRING(data)
        else:
            buf = <unsigned char *>malloc(size + 1)
            if buf == NULL:
                raise MemoryError()
        # The caller keeps every topic and payload alive while the pointers are used.
        with nogil:
            out = buf
            for i in range(count):
                p = &pieces[i]
                if p.hole_from:
                    out += write_record(out, b"H", p, epoch, epoch, p.hole_from, p.hole_to, NULL, 0)
                out += write_record(out, b"T", p, epoch, epoch, p.seq, p.exchange_ns, p.payload, p.payload_len)
            if fd >= 0:
                while done < size:
                    rc = c_write(fd, buf + done, size - done)
                    if rc < 0:
                        if errno == EINTR:
                            continue
                        err = errno
                        break
                    done += rc
    finally:
        free(pieces)
        if fd >= 0:
            free(buf)
    return data, size, err, done, entries, holes, new_last, at


cdef class Tail:
    """The run a batch appends to for one topic, and the seq it expects next."""

    cdef carray.array times
    cdef carray.array offsets
    cdef int64_t next
    cdef int64_t epoch


def add_entries(dict index, Entries entries, int64_t epoch, object run_type, dict tails):
    """``aggregation.journal.Day.add`` for every entry of a batch (the writer thread).

    ``tails`` (topic → the run it appends to and the seq it expects) is the caller's, kept
    for the day from batch to batch: with thousands of contracts most of a batch's ticks are
    each its topic's only one, and looking their run up afresh would be most of the cost."""
    cdef Tail tail
    cdef Py_ssize_t i, size
    cdef int64_t seq
    cdef list runs
    for i in range(entries.n):
        topic = <object>PyList_GET_ITEM(entries.topics, i)
        seq = entries.seq[i]
        found = tails.get(topic)
        if found is not None and (<Tail>found).next == seq and (<Tail>found).epoch == epoch:
            tail = <Tail>found
        else:
            runs = index.get(topic)
            if runs is None:
                runs = index[topic] = []
            run = runs[len(runs) - 1] if runs else None
            if run is None or run.epoch != epoch or run.last + 1 != seq:
                run = run_type(epoch, seq)
                runs.append(run)
            tail = Tail()
            tail.epoch = epoch
            tail.times = run.times
            tail.offsets = run.offsets
            tails[topic] = tail
        size = len(tail.times)
        carray.resize_smart(tail.times, size + 1)
        tail.times.data.as_longlongs[size] = entries.exchange_ns[i]
        # The offset last: a reader takes len(offsets) as the run's extent (and it runs only
        # when this thread lets go of the GIL, after the whole batch).
        size = len(tail.offsets)
        carray.resize_smart(tail.offsets, size + 1)
        tail.offsets.data.as_longlongs[size] = entries.offset[i]
        tail.next = seq + 1


def crc32(const unsigned char[:] data, uint32_t crc=0) -> int:
    """The CRC the records carry (``zlib.crc32``'s value; for tests)."""
    if data.shape[0] == 0:
        return crc
    return mdhub_crc32(crc, &data[0], data.shape[0])
