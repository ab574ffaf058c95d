# cython: language_level=3, boundscheck=False, wraparound=False
"""The worker's tick codec, compiled: the same functions as ``aggregation.tick_codec_py``,
byte for byte (tests/test_fast_path_equivalence.py), without a Python call per field.

Built in place by ``python -m aggregation.build_ext`` (./dev setup); ``aggregation.tick_codec``
falls back to the pure-Python twin when it is not built.

msgpack's own rules, as msgpack-python 1.x packs: ``True``/``False`` c3/c2, ``None`` c0, a
float as float64 (cb), an int in the smallest format (unsigned ones for x >= 0). Any other
type goes through ``msgpack.packb`` for that value.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.float cimport PyFloat_AS_DOUBLE
from libc.stdint cimport int64_t, uint64_t
from libc.math cimport isfinite

from aggregation._msgpack_write cimport put_bool, put_bytes, put_float, put_int, put_nil, put_uint

import sys

import msgpack

from aggregation.tick_codec_py import (
    CTP_ADJUSTED,
    CTP_KEYS,
    DEEP_PRICES,
    DEEP_VOLUMES,
    PRICE_INDEX,
    QUANTITY_INDEX,
    _NUMBER_KEYS,
    _TAIL_LOCALTIME,
    _TAIL_RECV,
    body_prefix,
    stateless_rule as py_stateless_rule,
)

cdef double MAX_FLOAT = sys.float_info.max
cdef tuple NUMBER_KEYS = _NUMBER_KEYS
cdef bytes TAIL_LOCALTIME = _TAIL_LOCALTIME
cdef bytes TAIL_RECV = _TAIL_RECV
cdef tuple KEYS = CTP_KEYS
cdef tuple ADJUSTED = CTP_ADJUSTED
cdef tuple DEEP = DEEP_PRICES
cdef tuple DEEP_ALL = DEEP_PRICES + DEEP_VOLUMES
cdef int N = len(NUMBER_KEYS)
cdef object packb = msgpack.packb
cdef object MIN_I64 = -(1 << 63)
cdef object MAX_U64 = (1 << 64) - 1

# Room for any body of ordinary values: the prefix, 31 keys of at most 15 bytes and values
# of at most 9, the tail. A body that does not fit (a huge name) takes the slow way.
DEF BUF = 4096


cdef inline Py_ssize_t _put_int(unsigned char* p, object value) except -1:
    """An int as msgpack-python packs it; -2 if it is out of msgpack's range."""
    if value >= 0:
        if value > MAX_U64:
            return -2
        return put_uint(p, <uint64_t>value)
    if value < MIN_I64:
        return -2
    return put_int(p, <int64_t>value)


cdef inline Py_ssize_t _put_value(unsigned char* p, object value) except -1:
    """One value; -2 when it needs ``msgpack.packb`` (a type this does not know)."""
    t = type(value)
    if t is float:
        return put_float(p, PyFloat_AS_DOUBLE(value))
    if t is int:
        return _put_int(p, value)
    if value is None:
        return put_nil(p)
    if value is True:
        return put_bool(p, True)
    if value is False:
        return put_bool(p, False)
    return -2


def encode_body(bytes prefix, list numbers, object dt_ns, object localtime_ns, object recv_ns):
    cdef unsigned char buf[BUF]
    cdef Py_ssize_t at, n, i
    if len(numbers) != N:
        raise ValueError("numbers must have one value per NUMBER_FIELDS entry")
    if PyBytes_GET_SIZE(prefix) > BUF - 1200:
        return _slow(prefix, numbers, dt_ns, localtime_ns, recv_ns)
    at = put_bytes(buf, prefix)
    n = _put_value(buf + at, dt_ns)
    if n < 0:
        return _slow(prefix, numbers, dt_ns, localtime_ns, recv_ns)
    at += n
    for i in range(N):
        at += put_bytes(buf + at, <bytes>NUMBER_KEYS[i])
        n = _put_value(buf + at, numbers[i])
        if n < 0:
            return _slow(prefix, numbers, dt_ns, localtime_ns, recv_ns)
        at += n
    at += put_bytes(buf + at, TAIL_LOCALTIME)
    n = _put_value(buf + at, localtime_ns)
    if n < 0:
        return _slow(prefix, numbers, dt_ns, localtime_ns, recv_ns)
    at += n
    at += put_bytes(buf + at, TAIL_RECV)
    n = _put_value(buf + at, recv_ns)
    if n < 0:
        return _slow(prefix, numbers, dt_ns, localtime_ns, recv_ns)
    at += n
    return PyBytes_FromStringAndSize(<char*>buf, at)


def _slow(bytes prefix, list numbers, object dt_ns, object localtime_ns, object recv_ns):
    from aggregation.tick_codec_py import encode_body as py_encode_body

    return py_encode_body(prefix, numbers, dt_ns, localtime_ns, recv_ns)


def ctp_numbers(dict data, bint sopt):
    cdef list numbers = [0] * N
    cdef Py_ssize_t i
    cdef object key
    for i in range(N):
        key = KEYS[i]
        if key is not None:
            numbers[i] = data[key]
    if sopt:
        return numbers
    for i in ADJUSTED:
        v = numbers[i]
        if type(v) is float and PyFloat_AS_DOUBLE(v) == MAX_FLOAT:
            numbers[i] = 0
        elif type(v) is not float and v == MAX_FLOAT:
            numbers[i] = 0
    if data["BidVolume2"] or data["AskVolume2"]:
        for i in DEEP:
            v = numbers[i]
            if type(v) is float and PyFloat_AS_DOUBLE(v) == MAX_FLOAT:
                numbers[i] = 0
            elif type(v) is not float and v == MAX_FLOAT:
                numbers[i] = 0
    else:
        for i in DEEP_ALL:
            numbers[i] = 0
    return numbers


cdef tuple PRICES = PRICE_INDEX
cdef tuple QUANTITIES = QUANTITY_INDEX
cdef double EMPTY_PRICE = 1e300
cdef double EXACT = 9007199254740992.0  # 2**53: an int below it is exact as a double
cdef Py_ssize_t I_BID = 11, I_ASK = 21
assert PRICE_INDEX[0] == 3 and len(PRICE_INDEX) <= 32 and len(QUANTITY_INDEX) <= 8


cdef inline int _as_double(object v, double* out) except -1:
    """1 when ``v`` is a float or a small int (its value in ``out``); 0 for anything else."""
    if type(v) is float:
        out[0] = PyFloat_AS_DOUBLE(v)
        return 1
    if type(v) is int and -EXACT < v < EXACT:
        out[0] = <double>v
        return 1
    return 0


def stateless_rule(list numbers):
    """``aggregation.tick_codec_py.stateless_rule`` without a Python call per value. A tick
    with a value of another type than float or a small int takes the twin (whose errors,
    TypeError for a string, say, must come out the same)."""
    cdef double prices[32]
    cdef double quantities[8]
    cdef Py_ssize_t i, k, n_prices = len(PRICES), n_quantities = len(QUANTITIES)
    if len(numbers) != N:
        raise ValueError("numbers must have one value per NUMBER_FIELDS entry")
    for k in range(n_prices):
        if not _as_double(numbers[<Py_ssize_t>PRICES[k]], &prices[k]):
            return py_stateless_rule(numbers)
    for k in range(n_quantities):
        if not _as_double(numbers[<Py_ssize_t>QUANTITIES[k]], &quantities[k]):
            return py_stateless_rule(numbers)
    for k in range(n_prices):
        if not isfinite(prices[k]) or prices[k] < 0:
            return "price_invalid"
    for k in range(n_prices):
        if prices[k] >= EMPTY_PRICE:
            numbers[<Py_ssize_t>PRICES[k]] = 0.0
            prices[k] = 0.0
    # PRICES starts with last_price; bid_1 and ask_1 are looked up by index.
    if prices[0] == 0 and numbers[I_BID] == 0 and numbers[I_ASK] == 0:
        return "no_price"
    for k in range(n_quantities):
        if not isfinite(quantities[k]) or quantities[k] < 0:
            return "quantity_negative"
    return None


__all__ = ["body_prefix", "ctp_numbers", "encode_body", "stateless_rule"]
