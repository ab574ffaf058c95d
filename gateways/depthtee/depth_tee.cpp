// The depth tee: a market-data API library that sits between the pinned vn.py wrapper
// (vnctpmd / vnsoptmd) and the real market-data library (the vendor's file, or the loopback
// one), so the depth records skip the wrapper's dict path while everything else stays vn.py's.
//
// It exports what the wrapper links (CThostFtdcMdApi::CreateFtdcMdApi, GetApiVersion) under
// the vendor's SONAME and is loaded before the wrapper (gateways.depthtee.tee, the same trick
// as gateways/loopback/preload.py). The real library is dlopened by path, RTLD_LOCAL |
// RTLD_DEEPBIND, so its own CreateFtdcMdApi never collides with ours. Each API object the
// wrapper gets is ours, forwarding every virtual to the real one; on RegisterSpi our SPI goes
// in front of the wrapper's and forwards every callback to it, except OnRtnDepthMarketData,
// which goes to the handler set from Python (gateways/depthtee/_depth_handler.pxi) when one is
// set. The handler returns 0 for a record it does not take: that record is forwarded too, and
// takes the wrapper's own path (the dict fast path, or vn.py's).
//
// Built with -DDEPTH_TEE_SOPT against the SOPT header: namespace ctp_sopt.

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "ThostFtdcMdApi.h"

#ifdef DEPTH_TEE_SOPT
#define TEE_NS_BEGIN namespace ctp_sopt {
#define TEE_NS_END }
#define TEE_FLAVOUR "sopt"
#define TEE_CREATE "_ZN8ctp_sopt15CThostFtdcMdApi15CreateFtdcMdApiEPKcbb"
#define TEE_VERSION "_ZN8ctp_sopt15CThostFtdcMdApi13GetApiVersionEv"
#else
#define TEE_NS_BEGIN
#define TEE_NS_END
#define TEE_FLAVOUR "ctp"
#define TEE_CREATE "_ZN15CThostFtdcMdApi15CreateFtdcMdApiEPKcbb"
#define TEE_VERSION "_ZN15CThostFtdcMdApi13GetApiVersionEv"
#endif

// ctx, record → 1 when the handler took the record, 0 to forward it to the wrapper.
typedef int (*mdhub_depth_handler)(void* ctx, const void* record);

namespace {

std::mutex g_open_lock;
void* g_real = nullptr;
std::string g_error;
std::string g_target;
std::atomic<mdhub_depth_handler> g_handler{nullptr};
std::atomic<void*> g_ctx{nullptr};
std::atomic<long> g_handled{0};
std::atomic<long> g_forwarded{0};

}  // namespace

TEE_NS_BEGIN

namespace {

typedef CThostFtdcMdApi* (*CreateFn)(const char*, const bool, const bool);
typedef const char* (*VersionFn)();

CreateFn g_create = nullptr;
VersionFn g_version = nullptr;

class TeeSpi final : public CThostFtdcMdSpi {
public:
    CThostFtdcMdSpi* inner = nullptr;

    void OnFrontConnected() override { inner->OnFrontConnected(); }
    void OnFrontDisconnected(int reason) override { inner->OnFrontDisconnected(reason); }
    void OnHeartBeatWarning(int lapse) override { inner->OnHeartBeatWarning(lapse); }
    void OnRspUserLogin(CThostFtdcRspUserLoginField* a, CThostFtdcRspInfoField* i, int id, bool last) override {
        inner->OnRspUserLogin(a, i, id, last);
    }
    void OnRspUserLogout(CThostFtdcUserLogoutField* a, CThostFtdcRspInfoField* i, int id, bool last) override {
        inner->OnRspUserLogout(a, i, id, last);
    }
#ifndef DEPTH_TEE_SOPT
    void OnRspQryMulticastInstrument(CThostFtdcMulticastInstrumentField* a, CThostFtdcRspInfoField* i, int id,
                                     bool last) override {
        inner->OnRspQryMulticastInstrument(a, i, id, last);
    }
#endif
    void OnRspError(CThostFtdcRspInfoField* i, int id, bool last) override { inner->OnRspError(i, id, last); }
    void OnRspSubMarketData(CThostFtdcSpecificInstrumentField* a, CThostFtdcRspInfoField* i, int id,
                            bool last) override {
        inner->OnRspSubMarketData(a, i, id, last);
    }
    void OnRspUnSubMarketData(CThostFtdcSpecificInstrumentField* a, CThostFtdcRspInfoField* i, int id,
                              bool last) override {
        inner->OnRspUnSubMarketData(a, i, id, last);
    }
    void OnRspSubForQuoteRsp(CThostFtdcSpecificInstrumentField* a, CThostFtdcRspInfoField* i, int id,
                             bool last) override {
        inner->OnRspSubForQuoteRsp(a, i, id, last);
    }
    void OnRspUnSubForQuoteRsp(CThostFtdcSpecificInstrumentField* a, CThostFtdcRspInfoField* i, int id,
                               bool last) override {
        inner->OnRspUnSubForQuoteRsp(a, i, id, last);
    }
    void OnRtnDepthMarketData(CThostFtdcDepthMarketDataField* record) override {
        mdhub_depth_handler handler = g_handler.load(std::memory_order_acquire);
        if (handler && record && handler(g_ctx.load(std::memory_order_acquire), record)) {
            g_handled.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        if (handler) g_forwarded.fetch_add(1, std::memory_order_relaxed);
        inner->OnRtnDepthMarketData(record);
    }
    void OnRtnForQuoteRsp(CThostFtdcForQuoteRspField* a) override { inner->OnRtnForQuoteRsp(a); }
};

class TeeMdApi final : public CThostFtdcMdApi {
public:
    explicit TeeMdApi(CThostFtdcMdApi* real) : real_(real) {}

    void Release() override {
        // The real library stops its thread before Release returns; our SPI dies after it.
        real_->Release();
        delete this;
    }
    void Init() override { real_->Init(); }
    int Join() override { return real_->Join(); }
    const char* GetTradingDay() override { return real_->GetTradingDay(); }
    void RegisterFront(char* address) override { real_->RegisterFront(address); }
    void RegisterNameServer(char* address) override { real_->RegisterNameServer(address); }
    void RegisterFensUserInfo(CThostFtdcFensUserInfoField* info) override { real_->RegisterFensUserInfo(info); }
    void RegisterSpi(CThostFtdcMdSpi* spi) override {
        spi_.inner = spi;
        real_->RegisterSpi(spi ? &spi_ : nullptr);
    }
    int SubscribeMarketData(char* ids[], int count) override { return real_->SubscribeMarketData(ids, count); }
    int UnSubscribeMarketData(char* ids[], int count) override { return real_->UnSubscribeMarketData(ids, count); }
    int SubscribeForQuoteRsp(char* ids[], int count) override { return real_->SubscribeForQuoteRsp(ids, count); }
    int UnSubscribeForQuoteRsp(char* ids[], int count) override {
        return real_->UnSubscribeForQuoteRsp(ids, count);
    }
    int ReqUserLogin(CThostFtdcReqUserLoginField* req, int id) override { return real_->ReqUserLogin(req, id); }
    int ReqUserLogout(CThostFtdcUserLogoutField* req, int id) override { return real_->ReqUserLogout(req, id); }
#ifndef DEPTH_TEE_SOPT
    int ReqQryMulticastInstrument(CThostFtdcQryMulticastInstrumentField* req, int id) override {
        return real_->ReqQryMulticastInstrument(req, id);
    }
#endif

private:
    ~TeeMdApi() = default;
    CThostFtdcMdApi* real_;
    TeeSpi spi_;
};

int open_real(const char* path) {
    std::lock_guard<std::mutex> guard(g_open_lock);
    if (g_real) {
        if (g_target == path) return 0;
        g_error = "the depth tee already forwards to " + g_target;
        return -1;
    }
    void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!handle) {
        const char* why = dlerror();
        g_error = why ? why : "dlopen failed";
        return -1;
    }
    auto create = reinterpret_cast<CreateFn>(dlsym(handle, TEE_CREATE));
    auto version = reinterpret_cast<VersionFn>(dlsym(handle, TEE_VERSION));
    if (!create || !version) {
        g_error = std::string(path) + " is not a " TEE_FLAVOUR " market-data library";
        dlclose(handle);
        return -1;
    }
    g_real = handle;
    g_create = create;
    g_version = version;
    g_target = path;
    return 0;
}

}  // namespace

CThostFtdcMdApi* CThostFtdcMdApi::CreateFtdcMdApi(const char* flow_path, const bool udp, const bool multicast) {
    if (!g_create) {
        // Python opens the real library before the gateway exists; an environment target is
        // the fallback for a process that loads the tee some other way.
        const char* target = std::getenv("MDHUB_DEPTH_TEE_TARGET");
        if (!target || open_real(target) != 0) return nullptr;
    }
    CThostFtdcMdApi* real = g_create(flow_path, udp, multicast);
    return real ? new TeeMdApi(real) : nullptr;
}

const char* CThostFtdcMdApi::GetApiVersion() {
    if (!g_version) return "mdhub-depth-tee " TEE_FLAVOUR " (no real library)";
    return g_version();
}

TEE_NS_END

extern "C" {
const char* mdhub_depth_tee_flavour() { return TEE_FLAVOUR; }
int mdhub_depth_tee_open(const char* path) { return open_real(path); }
const char* mdhub_depth_tee_error() { return g_error.c_str(); }
const char* mdhub_depth_tee_target() { return g_target.c_str(); }
// ctx is set before the handler, so a callback that sees the handler sees its ctx.
void mdhub_depth_tee_set_handler(mdhub_depth_handler handler, void* ctx) {
    g_handler.store(nullptr, std::memory_order_release);
    g_ctx.store(ctx, std::memory_order_release);
    g_handler.store(handler, std::memory_order_release);
}
long mdhub_depth_tee_handled() { return g_handled.load(); }
long mdhub_depth_tee_forwarded() { return g_forwarded.load(); }
}
