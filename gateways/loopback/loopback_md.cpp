// A market-data API library compatible with the CTP API (and, built with -DLOOPBACK_SOPT,
// with the SOPT API in namespace ctp_sopt), compiled against the vendor headers that ship in
// the pinned vnpy_ctp / vnpy_sopt source distributions. It exports what the compiled vn.py
// wrappers link (CThostFtdcMdApi::CreateFtdcMdApi, GetApiVersion) and talks to
// gateways/loopback/front.py over TCP instead of a broker's front.
//
// Like the vendor library it calls the SPI from its own thread: OnFrontConnected once the
// front has greeted us, OnRspUserLogin / OnRspSubMarketData / OnRspUnSubMarketData /
// OnRspError / OnRtnDepthMarketData as the front answers, OnHeartBeatWarning when the front
// goes quiet, and OnFrontDisconnected with the vendor's reason codes:
//   0x1001 network read failed (the front closed), 0x1002 network write failed,
//   0x2001 heartbeat timeout (the front stalls with the connection open),
//   0x2003 a bad packet was received.
// Then it reconnects by itself, as the vendor library does.
//
// Wire (both ways): frames of [u32 big-endian length][u8 type][payload], the payload being
// "Key=Value\n" lines whose keys are the CTP field names; strings travel as the front's bytes
// (GB18030 where the vendor sends Chinese), doubles as text (DBL_MAX survives exactly). One
// exception, front -> library: a 'B' frame's payload is a depth record as the vendor's struct
// bytes (this host's byte order, the header's layout), memcpy'd as a vendor library copies the
// broker's binary record; the login says the library reads them (DepthFrame=binary).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ThostFtdcMdApi.h"

#ifdef LOOPBACK_SOPT
#define LOOPBACK_NS_BEGIN namespace ctp_sopt {
#define LOOPBACK_NS_END }
#define LOOPBACK_FLAVOUR "sopt"
#else
#define LOOPBACK_NS_BEGIN
#define LOOPBACK_NS_END
#define LOOPBACK_FLAVOUR "ctp"
#endif

LOOPBACK_NS_BEGIN

#include "loopback_link.h"

namespace {

// FIELD comes from loopback_link.h.
const std::unordered_map<std::string, Setter<CThostFtdcDepthMarketDataField>>& depth_fields() {
    using S = CThostFtdcDepthMarketDataField;
    static const std::unordered_map<std::string, Setter<S>> table = {
        FIELD(S, TradingDay), FIELD(S, ExchangeID), FIELD(S, LastPrice), FIELD(S, PreSettlementPrice),
        FIELD(S, PreClosePrice), FIELD(S, PreOpenInterest), FIELD(S, OpenPrice), FIELD(S, HighestPrice),
        FIELD(S, LowestPrice), FIELD(S, Volume), FIELD(S, Turnover), FIELD(S, OpenInterest),
        FIELD(S, ClosePrice), FIELD(S, SettlementPrice), FIELD(S, UpperLimitPrice), FIELD(S, LowerLimitPrice),
        FIELD(S, PreDelta), FIELD(S, CurrDelta), FIELD(S, UpdateTime), FIELD(S, UpdateMillisec),
        FIELD(S, BidPrice1), FIELD(S, BidVolume1), FIELD(S, AskPrice1), FIELD(S, AskVolume1),
        FIELD(S, BidPrice2), FIELD(S, BidVolume2), FIELD(S, AskPrice2), FIELD(S, AskVolume2),
        FIELD(S, BidPrice3), FIELD(S, BidVolume3), FIELD(S, AskPrice3), FIELD(S, AskVolume3),
        FIELD(S, BidPrice4), FIELD(S, BidVolume4), FIELD(S, AskPrice4), FIELD(S, AskVolume4),
        FIELD(S, BidPrice5), FIELD(S, BidVolume5), FIELD(S, AskPrice5), FIELD(S, AskVolume5),
        FIELD(S, AveragePrice), FIELD(S, ActionDay), FIELD(S, InstrumentID), FIELD(S, ExchangeInstID),
#ifdef LOOPBACK_SOPT
        FIELD(S, CircuitRefPrice), FIELD(S, SendingTime), FIELD(S, BigVolume),
#else
        FIELD(S, BandingUpperPrice), FIELD(S, BandingLowerPrice),
#endif
    };
    return table;
}

#undef FIELD

class LoopbackMdApi final : public CThostFtdcMdApi, public FrontLink<LoopbackMdApi> {
public:
    explicit LoopbackMdApi(const char* flow_path) : flow_path_(flow_path ? flow_path : "") {}

    void Release() override {
        stop_link();
        delete this;
    }

    void Init() override { start_link(); }
    int Join() override { return join_link(); }

    const char* GetTradingDay() override { return trading_day_; }
    void RegisterFront(char* address) override { add_front(address); }
    void RegisterNameServer(char*) override {}
    void RegisterFensUserInfo(CThostFtdcFensUserInfoField*) override {}
    void RegisterSpi(CThostFtdcMdSpi* spi) override { spi_ = spi; }

    int SubscribeMarketData(char* ids[], int count) override { return send_ids('S', ids, count); }
    int UnSubscribeMarketData(char* ids[], int count) override { return send_ids('U', ids, count); }
    int SubscribeForQuoteRsp(char*[], int) override { return 0; }
    int UnSubscribeForQuoteRsp(char*[], int) override { return 0; }

    int ReqUserLogin(CThostFtdcReqUserLoginField* req, int request_id) override {
        // The password is not sent: the loopback front checks no credentials, and a secret
        // that never leaves the process cannot be logged anywhere else.
        // Flavour: a CTP front knows futures, a SOPT front stock options.
        // DepthFrame: this library reads depth records as 'B' frames (the struct's bytes); a
        // front that sees no such line keeps to 'D' text frames.
        std::string payload =
            "RequestID=" + std::to_string(request_id) + "\nFlavour=" LOOPBACK_FLAVOUR "\nDepthFrame=binary\n";
        if (req) {
            payload += std::string("BrokerID=") + req->BrokerID + "\nUserID=" + req->UserID + "\n";
        }
        return send_frame('L', payload);
    }

    int ReqUserLogout(CThostFtdcUserLogoutField* req, int request_id) override {
        std::string payload = "RequestID=" + std::to_string(request_id) + "\n";
        if (req) payload += std::string("BrokerID=") + req->BrokerID + "\nUserID=" + req->UserID + "\n";
        return send_frame('O', payload);
    }

#ifndef LOOPBACK_SOPT
    int ReqQryMulticastInstrument(CThostFtdcQryMulticastInstrumentField*, int) override { return 0; }
#endif

    // -- FrontLink's callbacks, on the library's thread --------------------------------------

    void on_connected() {
        if (spi_) spi_->OnFrontConnected();
    }
    void on_disconnected(int reason) {
        if (spi_) spi_->OnFrontDisconnected(reason);
    }
    void on_heartbeat_warning(int seconds) {
        if (spi_) spi_->OnHeartBeatWarning(seconds);
    }

    void on_frame(char type, const Fields& fields) {
        int request_id = std::atoi(value_of(fields, "RequestID", "0").c_str());
        bool is_last = value_of(fields, "IsLast", "1") != "0";
        CThostFtdcRspInfoField info{};
        fill(info, fields, info_fields());
        switch (type) {
            case 'L': {
                CThostFtdcRspUserLoginField login{};
                fill(login, fields, login_fields());
                if (info.ErrorID == 0) assign(trading_day_, std::string(login.TradingDay));
                if (spi_) spi_->OnRspUserLogin(&login, &info, request_id, is_last);
                break;
            }
            case 'S':
            case 'U': {
                CThostFtdcSpecificInstrumentField instrument{};
                assign(instrument.InstrumentID, value_of(fields, "InstrumentID"));
                if (!spi_) break;
                if (type == 'S') spi_->OnRspSubMarketData(&instrument, &info, request_id, is_last);
                else spi_->OnRspUnSubMarketData(&instrument, &info, request_id, is_last);
                break;
            }
            case 'O': {
                CThostFtdcUserLogoutField logout{};
                assign(logout.BrokerID, value_of(fields, "BrokerID"));
                assign(logout.UserID, value_of(fields, "UserID"));
                if (spi_) spi_->OnRspUserLogout(&logout, &info, request_id, is_last);
                break;
            }
            case 'E':
                if (spi_) spi_->OnRspError(&info, request_id, is_last);
                break;
            case 'D': {
                CThostFtdcDepthMarketDataField depth{};
                fill(depth, fields, depth_fields());
                if (spi_) spi_->OnRtnDepthMarketData(&depth);
                break;
            }
            default:
                ++g_bad_packets;  // counted and dropped, the session goes on
        }
    }

    // A 'B' frame: one CThostFtdcDepthMarketDataField as the front laid it out from the same
    // vendor header (gateways/depthtee/layout.py), copied as a vendor library copies the
    // broker's record. A payload of another size (another header's layout) is counted and
    // dropped; every string is terminated here so that a bent record cannot make the wrapper
    // read past its field.
    void on_record(const char* data, size_t size) {
        CThostFtdcDepthMarketDataField depth;
        if (size != sizeof(depth)) {
            ++g_bad_packets;
            return;
        }
        std::memcpy(&depth, data, sizeof(depth));
#define TERMINATE(f) depth.f[sizeof(depth.f) - 1] = '\0'
        TERMINATE(TradingDay);
        TERMINATE(ExchangeID);
        TERMINATE(UpdateTime);
        TERMINATE(ActionDay);
        TERMINATE(InstrumentID);
        TERMINATE(ExchangeInstID);
#ifdef LOOPBACK_SOPT
        TERMINATE(SendingTime);
#else
        TERMINATE(reserve1);
        TERMINATE(reserve2);
#endif
#undef TERMINATE
        if (spi_) spi_->OnRtnDepthMarketData(&depth);
    }

private:
    ~LoopbackMdApi() = default;

    int send_ids(char type, char* ids[], int count) {
        std::string payload;
        for (int i = 0; i < count; ++i)
            if (ids && ids[i]) payload += std::string("InstrumentID=") + ids[i] + "\n";
        return send_frame(type, payload);
    }

    std::string flow_path_;
    CThostFtdcMdSpi* spi_ = nullptr;
    char trading_day_[9] = "";
};

}  // namespace

CThostFtdcMdApi* CThostFtdcMdApi::CreateFtdcMdApi(const char* flow_path, const bool, const bool) {
    return new LoopbackMdApi(flow_path);
}

const char* CThostFtdcMdApi::GetApiVersion() { return "mdhub-loopback " LOOPBACK_FLAVOUR " 1"; }

LOOPBACK_NS_END

// Plain C symbols for the kind (ctypes): which library this is, and its bad-frame count.
extern "C" const char* mdhub_loopback_flavour() { return LOOPBACK_FLAVOUR; }
extern "C" long mdhub_loopback_bad_packets() {
#ifdef LOOPBACK_SOPT
    return ctp_sopt::g_bad_packets.load();
#else
    return g_bad_packets.load();
#endif
}
