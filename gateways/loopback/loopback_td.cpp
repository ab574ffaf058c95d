// A trader API library compatible with the CTP API (and, built with -DLOOPBACK_SOPT, with the
// SOPT API in namespace ctp_sopt), compiled against the vendor headers of the pinned
// vnpy_ctp / vnpy_sopt source distributions. It exports what the compiled vn.py wrappers
// (vnctptd / vnsopttd) link: CThostFtdcTraderApi::CreateFtdcTraderApi and GetApiVersion.
//
// It answers what the hub needs from a trading login, the contract universe: the front
// (gateways/loopback/front.py) answers ReqAuthenticate, ReqUserLogin, ReqSettlementInfoConfirm
// and ReqQryInstrument (real CThostFtdcInstrumentField records, one OnRspQryInstrument each,
// bIsLast on the last). Every other request is accepted and never answered: the hub places no
// orders, and vn.py's own timer queries (account, position) then simply stay empty.
//
// The connection (greeting, heartbeats, reconnect, disconnect reasons) is loopback_link.h's,
// the same as the market-data library's. Frames to the front: A authenticate, L login,
// F settlement confirm, Q instrument query, O logout, H heartbeat. From the front: A, L, F,
// I (an instrument), O, E (an error), C (greeting), H.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
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

#include "ThostFtdcTraderApi.h"

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
const std::unordered_map<std::string, Setter<CThostFtdcInstrumentField>>& instrument_fields() {
    using S = CThostFtdcInstrumentField;
    static const std::unordered_map<std::string, Setter<S>> table = {
        FIELD(S, InstrumentID), FIELD(S, ExchangeID), FIELD(S, InstrumentName), FIELD(S, ExchangeInstID),
        FIELD(S, ProductID), FIELD(S, ProductClass), FIELD(S, DeliveryYear), FIELD(S, DeliveryMonth),
        FIELD(S, MaxMarketOrderVolume), FIELD(S, MinMarketOrderVolume), FIELD(S, MaxLimitOrderVolume),
        FIELD(S, MinLimitOrderVolume), FIELD(S, VolumeMultiple), FIELD(S, PriceTick), FIELD(S, CreateDate),
        FIELD(S, OpenDate), FIELD(S, ExpireDate), FIELD(S, StartDelivDate), FIELD(S, EndDelivDate),
        FIELD(S, InstLifePhase), FIELD(S, IsTrading), FIELD(S, PositionType), FIELD(S, PositionDateType),
        FIELD(S, LongMarginRatio), FIELD(S, ShortMarginRatio), FIELD(S, MaxMarginSideAlgorithm),
        FIELD(S, UnderlyingInstrID), FIELD(S, StrikePrice), FIELD(S, OptionsType), FIELD(S, UnderlyingMultiple),
        FIELD(S, CombinationType),
#ifdef LOOPBACK_SOPT
        FIELD(S, InstrumentCode), FIELD(S, OldInstrumentName), FIELD(S, MinBuyVolume), FIELD(S, MinSellVolume),
#endif
    };
    return table;
}

const std::unordered_map<std::string, Setter<CThostFtdcRspAuthenticateField>>& authenticate_fields() {
    using S = CThostFtdcRspAuthenticateField;
    static const std::unordered_map<std::string, Setter<S>> table = {
        FIELD(S, BrokerID), FIELD(S, UserID), FIELD(S, UserProductInfo), FIELD(S, AppID), FIELD(S, AppType),
    };
    return table;
}

const std::unordered_map<std::string, Setter<CThostFtdcSettlementInfoConfirmField>>& confirm_fields() {
    using S = CThostFtdcSettlementInfoConfirmField;
    static const std::unordered_map<std::string, Setter<S>> table = {
        FIELD(S, BrokerID), FIELD(S, InvestorID), FIELD(S, ConfirmDate), FIELD(S, ConfirmTime),
    };
    return table;
}

#undef FIELD

std::string line(const char* key, const char* value) { return std::string(key) + "=" + value + "\n"; }

class LoopbackTraderApi final : public CThostFtdcTraderApi, public FrontLink<LoopbackTraderApi> {
public:
    explicit LoopbackTraderApi(const char* flow_path) : flow_path_(flow_path ? flow_path : "") {}

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
    void RegisterSpi(CThostFtdcTraderSpi* spi) override { spi_ = spi; }
    // There is no private or public flow to resume: the front keeps no order history.
    void SubscribePrivateTopic(THOST_TE_RESUME_TYPE) override {}
    void SubscribePublicTopic(THOST_TE_RESUME_TYPE) override {}

    int ReqAuthenticate(CThostFtdcReqAuthenticateField* req, int request_id) override {
        // The auth code travels as to a broker's front (the front checks it); it is never logged.
        std::string payload = "RequestID=" + std::to_string(request_id) + "\n";
        if (req) {
            payload += line("BrokerID", req->BrokerID) + line("UserID", req->UserID) + line("AppID", req->AppID) +
                       line("AuthCode", req->AuthCode);
        }
        return send_frame('A', payload);
    }

    int ReqUserLogin(CThostFtdcReqUserLoginField* req, int request_id) override {
        // As in the market-data library, the password is not sent: the loopback front checks
        // none, and a secret that never leaves the process cannot be logged elsewhere.
        std::string payload = "RequestID=" + std::to_string(request_id) + "\nFlavour=" LOOPBACK_FLAVOUR "\nApi=trader\n";
        if (req) payload += line("BrokerID", req->BrokerID) + line("UserID", req->UserID);
        return send_frame('L', payload);
    }

    int ReqUserLogout(CThostFtdcUserLogoutField* req, int request_id) override {
        std::string payload = "RequestID=" + std::to_string(request_id) + "\n";
        if (req) payload += line("BrokerID", req->BrokerID) + line("UserID", req->UserID);
        return send_frame('O', payload);
    }

    int ReqSettlementInfoConfirm(CThostFtdcSettlementInfoConfirmField* req, int request_id) override {
        std::string payload = "RequestID=" + std::to_string(request_id) + "\n";
        if (req) payload += line("BrokerID", req->BrokerID) + line("InvestorID", req->InvestorID);
        return send_frame('F', payload);
    }

    int ReqQryInstrument(CThostFtdcQryInstrumentField* req, int request_id) override {
        std::string payload = "RequestID=" + std::to_string(request_id) + "\n";
        if (req) {
            payload += line("InstrumentID", req->InstrumentID) + line("ExchangeID", req->ExchangeID) +
                       line("ProductID", req->ProductID);
        }
        return send_frame('Q', payload);
    }

    // Every other request of the vendor's class: accepted, never answered (generated from the
    // vendor header by build.py, so the class is complete for whichever header it is built with).
#include "trader_stubs.inc"

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

    // Depth records are the md library's: one here is counted and dropped.
    void on_record(const char*, size_t) { ++g_bad_packets; }

    void on_frame(char type, const Fields& fields) {
        int request_id = std::atoi(value_of(fields, "RequestID", "0").c_str());
        bool is_last = value_of(fields, "IsLast", "1") != "0";
        CThostFtdcRspInfoField info{};
        fill(info, fields, info_fields());
        if (!spi_) return;
        switch (type) {
            case 'A': {
                CThostFtdcRspAuthenticateField auth{};
                fill(auth, fields, authenticate_fields());
                spi_->OnRspAuthenticate(&auth, &info, request_id, is_last);
                break;
            }
            case 'L': {
                CThostFtdcRspUserLoginField login{};
                fill(login, fields, login_fields());
                if (info.ErrorID == 0) assign(trading_day_, std::string(login.TradingDay));
                spi_->OnRspUserLogin(&login, &info, request_id, is_last);
                break;
            }
            case 'F': {
                CThostFtdcSettlementInfoConfirmField confirm{};
                fill(confirm, fields, confirm_fields());
                spi_->OnRspSettlementInfoConfirm(&confirm, &info, request_id, is_last);
                break;
            }
            case 'I': {
                // An answer without an instrument (nothing matched) comes as a null record,
                // as from the vendor's library.
                CThostFtdcInstrumentField instrument{};
                fill(instrument, fields, instrument_fields());
                bool empty = instrument.InstrumentID[0] == '\0';
                spi_->OnRspQryInstrument(empty ? nullptr : &instrument, &info, request_id, is_last);
                break;
            }
            case 'O': {
                CThostFtdcUserLogoutField logout{};
                assign(logout.BrokerID, value_of(fields, "BrokerID"));
                assign(logout.UserID, value_of(fields, "UserID"));
                spi_->OnRspUserLogout(&logout, &info, request_id, is_last);
                break;
            }
            case 'E':
                spi_->OnRspError(&info, request_id, is_last);
                break;
            default:
                ++g_bad_packets;  // counted and dropped, the session goes on
        }
    }

private:
    ~LoopbackTraderApi() = default;

    std::string flow_path_;
    CThostFtdcTraderSpi* spi_ = nullptr;
    char trading_day_[9] = "";
};

}  // namespace

CThostFtdcTraderApi* CThostFtdcTraderApi::CreateFtdcTraderApi(const char* flow_path) {
    return new LoopbackTraderApi(flow_path);
}

const char* CThostFtdcTraderApi::GetApiVersion() { return "mdhub-loopback trader " LOOPBACK_FLAVOUR " 1"; }

LOOPBACK_NS_END

// Plain C symbols for tests (ctypes): which library this is, and its bad-frame count.
extern "C" const char* mdhub_loopback_trader_flavour() { return LOOPBACK_FLAVOUR; }
extern "C" long mdhub_loopback_trader_bad_packets() {
#ifdef LOOPBACK_SOPT
    return ctp_sopt::g_bad_packets.load();
#else
    return g_bad_packets.load();
#endif
}
