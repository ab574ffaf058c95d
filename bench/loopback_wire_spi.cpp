// The receiving end of bench/loopback_wire.py: the loopback md library (linked as the vn.py
// wrapper links the vendor's) with an SPI that only counts depth records, so the figure is
// the library's own cost per record: receive, framing, and the text parse or the memcpy.
//
//   loopback_wire_spi PORT COUNT
//   -> prints "<library thread CPU ns> <wall ns> <records timed> <checksum> <bad packets>
//              <longest InstrumentID>" once COUNT records are in
//      (tests/test_loopback_binary_frames.py reads the last two: bent frames counted, every
//      string terminated inside its field)
//
// The clock is the library thread's CPU time (CLOCK_THREAD_CPUTIME_ID, read inside the
// callback, on that thread) from the first record to the COUNT-th.

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "ThostFtdcMdApi.h"

extern "C" long mdhub_loopback_bad_packets();

namespace {

long long now_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

class CountingSpi final : public CThostFtdcMdSpi {
public:
    explicit CountingSpi(long expected) : expected_(expected) {}

    void OnRtnDepthMarketData(CThostFtdcDepthMarketDataField* record) override {
        // Read the record as a consumer would, so that nothing is optimised away.
        checksum_ += record->LastPrice + record->Volume + record->UpdateMillisec + record->InstrumentID[0];
        size_t length = std::strlen(record->InstrumentID);
        if (length > longest_) longest_ = length;
        if (seen_ == 0) {
            cpu0_ = now_ns(CLOCK_THREAD_CPUTIME_ID);
            wall0_ = now_ns(CLOCK_MONOTONIC);
        }
        if (++seen_ == expected_) {
            std::printf("%lld %lld %ld %.0f %ld %zu\n", now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0_,
                        now_ns(CLOCK_MONOTONIC) - wall0_, seen_ - 1, checksum_, mdhub_loopback_bad_packets(),
                        longest_);
            std::fflush(stdout);
            done_ = true;
        }
    }

    std::atomic<bool> done_{false};

private:
    long expected_;
    long seen_ = 0;
    long long cpu0_ = 0, wall0_ = 0;
    double checksum_ = 0;
    size_t longest_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s PORT COUNT\n", argv[0]);
        return 2;
    }
    CountingSpi spi(std::atol(argv[2]));
    CThostFtdcMdApi* api = CThostFtdcMdApi::CreateFtdcMdApi("", false, false);
    api->RegisterSpi(&spi);
    std::string front = std::string("tcp://127.0.0.1:") + argv[1];
    api->RegisterFront(front.data());
    api->Init();
    for (int waited = 0; !spi.done_ && waited < 60000; waited += 5)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    _exit(spi.done_ ? 0 : 1);  // the library's thread is still in its loop: no teardown
}
