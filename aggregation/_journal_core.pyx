# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The journal writer's per-tick work, compiled: framing a batch (``aggregation.journal_format``'s
records, byte for byte) and adding it to the day's index (``aggregation.journal.Day.add``).

Why: the writer is a thread of the hub's process, so while it frames in Python it holds the
GIL the hub's tick path waits for (docs/journal.md, "Cost"). Here the GIL is held only to
read the batch's tuples (a few dozen ns a tick); copying the payloads and their CRCs (zlib's
``crc32``, as ``zlib.crc32``) runs without it. ``tests/test_journal.py`` and
``tests/test_hub_core_property.py`` check the records against the Python framing.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

cdef extern from "zlib.h" nogil:
    unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned int len)

cdef extern from * nogil:
    """
    static inline void mdhub_put32(unsigned char *p, uint32_t v) { v = __builtin_bswap32(v); memcpy(p, &v, 4); }
    static inline void mdhub_put64(unsigned char *p, int64_t v) { uint64_t u = __builtin_bswap64((uint64_t)v); memcpy(p, &u, 8); }
    static inline int64_t mdhub_get64(const unsigned char *p) { uint64_t u; memcpy(&u, p, 8); return (int64_t)__builtin_bswap64(u); }
    """
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
    mdhub_put32(out + 4, <uint32_t>crc32(0, body, <unsigned int>length))
    return HEADER + length


def frame_batch(list items, int64_t epoch, dict last, int64_t at):
    """``(data, entries, holes, new_last, end)`` for a batch of ``(topic, key, seq, payload)``
    (``aggregation.journal.Journal.write_batch``'s framing): ``entries`` are ``(topic, seq,
    offset, exchange_ns)`` of the tick records, ``holes`` ``(topic, from_seq, to_seq)`` of the
    hole records put before a seq jump, ``new_last`` the batch's last seq per topic, ``end``
    the offset after ``data``. ``last`` (the committed seqs) is only read."""
    cdef Py_ssize_t n = len(items), count = 0, i
    cdef Piece *pieces = <Piece *>malloc((n + 1) * sizeof(Piece))
    cdef Piece *p
    cdef int64_t prev, seq
    cdef Py_ssize_t size = 0, tlen
    cdef bytes topic, key, payload
    cdef list entries = []
    cdef list holes = []
    cdef dict new_last = {}
    cdef bytes data
    cdef unsigned char *out
    if pieces == NULL:
        raise MemoryError()
    try:
        for item in items:
            topic, key, seq, payload = item
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
            tlen = PyBytes_GET_SIZE(topic)
            if tlen > 255 or PyBytes_GET_SIZE(key) < 8:
                raise ValueError("journal: a topic longer than 255 bytes or a short key")
            p.topic = <const unsigned char *>PyBytes_AS_STRING(topic)
            p.topic_len = tlen
            p.payload = <const unsigned char *>PyBytes_AS_STRING(payload)
            p.payload_len = PyBytes_GET_SIZE(payload)
            p.seq = seq
            p.exchange_ns = mdhub_get64(<const unsigned char *>PyBytes_AS_STRING(key))
            entries.append((topic, seq, at, p.exchange_ns))
            at += HEADER + 2 + tlen + NUMS + p.payload_len
            new_last[topic] = seq
            count += 1
        # ``items`` keeps every topic and payload alive while the pointers are used.
        for i in range(count):
            p = &pieces[i]
            if p.hole_from:
                size += HEADER + 2 + p.topic_len + NUMS
            size += HEADER + 2 + p.topic_len + NUMS + p.payload_len
        data = PyBytes_FromStringAndSize(NULL, size)
        out = <unsigned char *>PyBytes_AS_STRING(data)
        with nogil:
            for i in range(count):
                p = &pieces[i]
                if p.hole_from:
                    out += write_record(out, b"H", p, epoch, epoch, p.hole_from, p.hole_to, NULL, 0)
                out += write_record(out, b"T", p, epoch, epoch, p.seq, p.exchange_ns, p.payload, p.payload_len)
    finally:
        free(pieces)
    return data, entries, holes, new_last, at


def add_entries(dict index, list entries, int64_t epoch, object run_type):
    """``aggregation.journal.Day.add`` for every entry of a batch (the writer thread)."""
    cdef int64_t seq
    cdef list runs
    for topic, seq, offset, exchange_ns in entries:
        runs = index.get(topic)
        if runs is None:
            runs = index[topic] = []
        run = runs[len(runs) - 1] if runs else None
        if run is None or run.epoch != epoch or run.last + 1 != seq:
            run = run_type(epoch, seq)
            runs.append(run)
        run.times.append(exchange_ns)
        # The offset last: a reader takes len(offsets) as the run's extent.
        run.offsets.append(offset)
