# The compiled depth-record handler behind the depth tee (depth_tee.cpp), included by
# _depth_tee_ctp.pyx and _depth_tee_sopt.pyx (which set DEPTH_TEE_SOPT for the header).
#
# It reads the vendor's CThostFtdcDepthMarketDataField straight into the NUMBER_FIELDS list
# exactly as gateways.kinds.fast_record.CtpRecordPath.on_depth + aggregation.tick_codec
# .ctp_numbers do from the wrapper's dict (the same tables: CTP_KEYS, CTP_ADJUSTED,
# DEEP_PRICES, DEEP_VOLUMES; the same Python types, int 0 where vn.py leaves a default) and
# calls TickEmitter.emit_numbers. A record it is not sure of (non-ASCII text, milliseconds
# outside 0-999, a stamp strptime rejects, anything raising) it does not take: the tee then
# forwards it to the wrapper, and it takes the dict path, which does the exact thing.

from cpython.float cimport PyFloat_FromDouble
from cpython.long cimport PyLong_FromLong, PyLong_FromLongLong
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdint cimport uintptr_t
from posix.time cimport clock_gettime, timespec, CLOCK_REALTIME

import logging
import sys

from aggregation.tick_codec_py import CTP_ADJUSTED, CTP_KEYS, DEEP_PRICES, DEEP_VOLUMES, body_prefix
from aggregation.wire import NUMBER_FIELDS, topic_for

cdef extern from "<cstring>":
    size_t strnlen(const char* s, size_t cap) noexcept nogil

cdef extern from "depth_record.h":
    ctypedef struct DepthRecord:
        char TradingDay[9]
        char InstrumentID[81]
        char UpdateTime[9]
        int UpdateMillisec
        char ActionDay[9]
        int BidVolume2
        int AskVolume2
    ctypedef struct DepthNumber:
        const char* name
        size_t offset
        int kind
    const DepthNumber* DEPTH_NUMBERS
    int DEPTH_NUMBER_COUNT
    double depth_double(const DepthRecord* r, size_t offset) noexcept nogil
    long depth_int(const DepthRecord* r, size_t offset) noexcept nogil
    size_t depth_record_size() noexcept nogil
    void depth_keep_thread_state() noexcept nogil

log = logging.getLogger("mdhub.worker.depthtee")

DEF MAX_N = 64
cdef int N = len(NUMBER_FIELDS)
cdef size_t OFFSET[MAX_N]
cdef int KIND[MAX_N]  # 0: no such field (vn.py leaves int 0), 1: double, 2: int
cdef bint ADJUSTED[MAX_N]
cdef bint DEEP_PRICE[MAX_N]
cdef bint DEEP_ANY[MAX_N]
cdef double MAX_FLOAT = sys.float_info.max


def _load_tables() -> None:
    """Per NUMBER_FIELDS index: where the record keeps it and which rules apply (the codec's
    own tables, so the two cannot drift apart)."""
    cdef int i, j
    if N > MAX_N or len(CTP_KEYS) != N:
        raise RuntimeError("NUMBER_FIELDS does not fit the depth handler's tables")
    fields = {DEPTH_NUMBERS[j].name.decode(): j for j in range(DEPTH_NUMBER_COUNT)}
    for i in range(N):
        key = CTP_KEYS[i]
        KIND[i] = 0
        OFFSET[i] = 0
        if key is not None:
            j = fields[key]  # a KeyError: the record has no such field, the module is unusable
            KIND[i] = DEPTH_NUMBERS[j].kind
            OFFSET[i] = DEPTH_NUMBERS[j].offset
        ADJUSTED[i] = i in CTP_ADJUSTED
        DEEP_PRICE[i] = i in DEEP_PRICES
        DEEP_ANY[i] = i in DEEP_PRICES or i in DEEP_VOLUMES


_load_tables()


cdef inline Py_ssize_t _ascii_len(const char* s, size_t cap) noexcept nogil:
    """Length of a NUL-terminated ASCII field; -1 when it is not (the wrapper's toUtf would
    convert it, or it fills the whole array)."""
    cdef size_t n = strnlen(s, cap), i
    if n == cap:
        return -1
    for i in range(n):
        if <unsigned char>s[i] >= 0x80:
            return -1
    return <Py_ssize_t>n


cdef class DepthTee:
    """The handler of one md API's depth records, over the kind's dict fast path
    (``CtpRecordPath``: its contract map, DCE date, stamp cache, emitter)."""

    cdef readonly object path
    cdef object emit_numbers, contract_map, date_for, md_api, second
    cdef bint sopt
    cdef dict meta
    cdef object last_date, last_time, last_ns
    cdef public long long handled, declined, errors

    def __init__(self, path: object) -> None:
        if bool(path.sopt) != bool(DEPTH_TEE_SOPT):
            raise ValueError("this handler is built for the other flavour")
        self.path = path
        self.emit_numbers = path.emitter.emit_numbers
        self.contract_map = path.contract_map
        self.date_for = path.date_for
        self.md_api = path.md_api
        self.second = path.stamps.second
        self.sopt = bool(path.sopt)
        self.meta = {}
        self.last_date = self.last_time = self.last_ns = None
        self.handled = self.declined = self.errors = 0

    def feed(self, bytes record) -> int:
        """One record given as the struct's bytes (1 taken, 0 declined): a test's entry."""
        if PyBytes_GET_SIZE(record) != <Py_ssize_t>depth_record_size():
            raise ValueError("not a depth record of this flavour")
        return _dispatch(self, <const DepthRecord*>PyBytes_AS_STRING(record))

    cdef tuple _contract_meta(self, str symbol, object contract):
        exchange = contract.exchange.value
        vt_symbol = f"{symbol}.{exchange}"
        meta = (contract, vt_symbol, topic_for(vt_symbol), body_prefix(symbol, exchange, contract.name), exchange == "DCE")
        self.meta[symbol] = meta
        return meta

    cdef int handle(self, const DepthRecord* r) except -1:
        cdef timespec now
        cdef Py_ssize_t n_time, n_symbol, n_date
        cdef int millis, i, kind
        cdef long long second_ns, dt_ns
        cdef double d
        cdef bint deep, zero
        clock_gettime(CLOCK_REALTIME, &now)
        recv_ns = PyLong_FromLongLong(<long long>now.tv_sec * 1_000_000_000 + now.tv_nsec)
        n_time = _ascii_len(r.UpdateTime, sizeof(r.UpdateTime))
        if n_time == 0:
            return 1  # vn.py: a record without a time stamp is no tick
        n_symbol = _ascii_len(r.InstrumentID, sizeof(r.InstrumentID))
        if n_time < 0 or n_symbol < 0:
            return 0
        symbol = PyUnicode_DecodeASCII(r.InstrumentID, n_symbol, NULL)
        contract = self.contract_map.get(symbol)
        if contract is None:
            return 1  # vn.py: nothing before the contract is known
        meta = self.meta.get(symbol)
        if meta is None or (<tuple>meta)[0] is not contract:
            meta = self._contract_meta(symbol, contract)
        millis = r.UpdateMillisec
        if millis < 0 or millis > 999:
            return 0  # the dict path's exact strptime
        update_time = PyUnicode_DecodeASCII(r.UpdateTime, n_time, NULL)
        if self.sopt:
            n_date = _ascii_len(r.TradingDay, sizeof(r.TradingDay))
            if n_date < 0:
                return 0
            date = PyUnicode_DecodeASCII(r.TradingDay, n_date, NULL)
        else:
            n_date = _ascii_len(r.ActionDay, sizeof(r.ActionDay))
            if n_date < 0:
                return 0
            if n_date == 0 or (<tuple>meta)[4]:
                date = self.date_for(update_time)
                if self.md_api is not None:
                    self.md_api.current_date = date  # as the vn.py path leaves it
            else:
                date = PyUnicode_DecodeASCII(r.ActionDay, n_date, NULL)
        # One UpdateTime for a whole round: the last second's stamp serves most records.
        if update_time == self.last_time and date == self.last_date:
            second_ns = self.last_ns
        else:
            try:
                ns = self.second(date, update_time)
            except ValueError:
                return 0  # the dict path counts it as malformed
            self.last_date, self.last_time, self.last_ns = date, update_time, ns
            second_ns = ns
        if self.sopt:
            dt_ns = second_ns + (millis // 100) * 100_000_000
        else:
            dt_ns = second_ns + <long long>millis * 1_000_000
        deep = self.sopt or r.BidVolume2 != 0 or r.AskVolume2 != 0
        numbers = [0] * N
        for i in range(N):
            kind = KIND[i]
            if kind == 0:
                continue
            if not self.sopt and not deep and DEEP_ANY[i]:
                continue  # vn.py's 5-level rule: no level 2, no levels 2-5
            if kind == 1:
                d = depth_double(r, OFFSET[i])
                zero = (
                    not self.sopt and d == MAX_FLOAT and (ADJUSTED[i] or DEEP_PRICE[i])
                )
                if not zero:
                    numbers[i] = PyFloat_FromDouble(d)
            else:
                numbers[i] = PyLong_FromLong(depth_int(r, OFFSET[i]))
        try:
            self.emit_numbers((<tuple>meta)[1], (<tuple>meta)[2], (<tuple>meta)[3], numbers, dt_ns, recv_ns)
        except Exception:
            # Taken all the same: forwarding would send it twice if the send went through.
            self.errors += 1
            if self.errors <= 3:
                log.exception("depth tee: emitting %s failed", symbol)
        return 1


cdef int _dispatch(DepthTee tee, const DepthRecord* r) noexcept:
    cdef int taken
    try:
        taken = tee.handle(r)
    except BaseException:
        tee.errors += 1
        taken = 0
    if taken:
        tee.handled += 1
    else:
        tee.declined += 1
    return taken


cdef int _on_record(void* ctx, const void* record) noexcept nogil:
    """The tee's handler, on the md library's callback thread (no GIL held)."""
    depth_keep_thread_state()
    with gil:
        return _dispatch(<DepthTee><object>ctx, <const DepthRecord*>record)


def handler_address() -> int:
    """The C handler's address, for mdhub_depth_tee_set_handler."""
    return <uintptr_t>&_on_record


def record_size() -> int:
    return depth_record_size()
