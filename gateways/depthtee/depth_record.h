// The vendor's depth record as the compiled handler (_depth_handler.pxi) reads it: the
// struct of the flavour's header, a table of the numeric fields by CTP name (offset, kind),
// and the keep-a-thread-state GIL entry for the library's callback thread.
#pragma once

#include <Python.h>

#include <cstddef>

#include "ThostFtdcUserApiStruct.h"

#if DEPTH_TEE_SOPT
typedef ctp_sopt::CThostFtdcDepthMarketDataField DepthRecord;
#else
typedef CThostFtdcDepthMarketDataField DepthRecord;
#endif

// kind: 1 a double (TThostFtdcPriceType, money, large volume), 2 an int (TThostFtdcVolumeType).
struct DepthNumber {
    const char* name;
    size_t offset;
    int kind;
};

#define DEPTH_D(f) {#f, offsetof(DepthRecord, f), 1}
#define DEPTH_I(f) {#f, offsetof(DepthRecord, f), 2}

static const DepthNumber DEPTH_NUMBERS[] = {
    DEPTH_I(Volume),          DEPTH_D(Turnover),        DEPTH_D(OpenInterest),   DEPTH_D(LastPrice),
    DEPTH_D(UpperLimitPrice), DEPTH_D(LowerLimitPrice), DEPTH_D(OpenPrice),      DEPTH_D(HighestPrice),
    DEPTH_D(LowestPrice),     DEPTH_D(PreClosePrice),   DEPTH_D(BidPrice1),      DEPTH_D(BidPrice2),
    DEPTH_D(BidPrice3),       DEPTH_D(BidPrice4),       DEPTH_D(BidPrice5),      DEPTH_I(BidVolume1),
    DEPTH_I(BidVolume2),      DEPTH_I(BidVolume3),      DEPTH_I(BidVolume4),     DEPTH_I(BidVolume5),
    DEPTH_D(AskPrice1),       DEPTH_D(AskPrice2),       DEPTH_D(AskPrice3),      DEPTH_D(AskPrice4),
    DEPTH_D(AskPrice5),       DEPTH_I(AskVolume1),      DEPTH_I(AskVolume2),     DEPTH_I(AskVolume3),
    DEPTH_I(AskVolume4),      DEPTH_I(AskVolume5),
};
static const int DEPTH_NUMBER_COUNT = sizeof(DEPTH_NUMBERS) / sizeof(DEPTH_NUMBERS[0]);

static inline double depth_double(const DepthRecord* r, size_t offset) {
    return *reinterpret_cast<const double*>(reinterpret_cast<const char*>(r) + offset);
}
static inline long depth_int(const DepthRecord* r, size_t offset) {
    return *reinterpret_cast<const int*>(reinterpret_cast<const char*>(r) + offset);
}
static inline size_t depth_record_size() { return sizeof(DepthRecord); }

// The callback thread's Python thread state, made once and kept: pybind11's
// gil_scoped_acquire makes and drops one per call (the cost measured in the wrapper). The
// first PyGILState_Ensure creates it with a count of 1 that is never released, so each later
// Ensure/Release pair (Cython's `with gil`) only swaps the GIL.
static thread_local bool depth_thread_ready = false;
static inline void depth_keep_thread_state() {
    if (!depth_thread_ready) {
        PyGILState_Ensure();
        PyEval_SaveThread();
        depth_thread_ready = true;
    }
}
