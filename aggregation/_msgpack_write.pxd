# cython: language_level=3, boundscheck=False, wraparound=False
"""msgpack writers into a C buffer, as msgpack-python 1.x packs: shared by the tick codec
(``aggregation/_tick_codec.pyx``) and the worker's emit core (``aggregation/_emit_core.pyx``),
so the two write the same bytes by construction (tests/test_fast_path_equivalence.py).

``cdef inline`` in a .pxd: each module that cimports these gets its own static inline copy,
so they compile to what the modules had written out themselves (no call across modules, no
.so of its own to build). Each writes at ``p`` and returns how many bytes it wrote; the caller
has checked that the buffer has the room.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport UINT32_MAX, int64_t, uint64_t
from libc.string cimport memcpy


cdef inline Py_ssize_t put_be(unsigned char* p, unsigned char code, uint64_t v, int width) noexcept:
    """A one-byte format code, then the low ``width`` bytes of ``v`` big-endian."""
    cdef int i
    p[0] = code
    for i in range(width):
        p[1 + i] = (v >> (8 * (width - 1 - i))) & 0xFF
    return 1 + width


cdef inline Py_ssize_t put_uint(unsigned char* p, uint64_t u) noexcept:
    """An int >= 0 in the smallest format: positive fixint, else uint 8/16/32/64."""
    if u < 0x80:
        p[0] = <unsigned char>u
        return 1
    if u <= 0xFF:
        return put_be(p, 0xCC, u, 1)
    if u <= 0xFFFF:
        return put_be(p, 0xCD, u, 2)
    # UINT32_MAX, not 0xFFFFFFFF: Cython makes a literal past 2**31 a Python int, and the
    # comparison then boxes ``u`` into a PyLong for every int of 16 bits or more.
    if u <= UINT32_MAX:
        return put_be(p, 0xCE, u, 4)
    return put_be(p, 0xCF, u, 8)


cdef inline Py_ssize_t put_int(unsigned char* p, int64_t s) noexcept:
    """Any int64: msgpack-python takes the unsigned formats for s >= 0, so do we."""
    if s >= 0:
        return put_uint(p, <uint64_t>s)
    if s >= -32:
        p[0] = <unsigned char>(<uint64_t>s & 0xFF)
        return 1
    if s >= -128:
        return put_be(p, 0xD0, <uint64_t>s, 1)
    if s >= -32768:
        return put_be(p, 0xD1, <uint64_t>s, 2)
    if s >= -2147483648:
        return put_be(p, 0xD2, <uint64_t>s, 4)
    return put_be(p, 0xD3, <uint64_t>s, 8)


cdef inline Py_ssize_t put_float(unsigned char* p, double d) noexcept:
    """A float as float64 (cb): msgpack-python never packs a Python float as float32."""
    cdef uint64_t bits
    memcpy(&bits, &d, 8)
    return put_be(p, 0xCB, bits, 8)


cdef inline Py_ssize_t put_nil(unsigned char* p) noexcept:
    p[0] = 0xC0
    return 1


cdef inline Py_ssize_t put_bool(unsigned char* p, bint b) noexcept:
    p[0] = 0xC3 if b else 0xC2
    return 1


cdef inline Py_ssize_t put_bytes(unsigned char* p, bytes b) noexcept:
    """Bytes already in msgpack (a key, the body's prefix and tail), copied as they are."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    memcpy(p, PyBytes_AS_STRING(b), n)
    return n
