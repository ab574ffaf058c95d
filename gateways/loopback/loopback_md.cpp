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
// (GB18030 where the vendor sends Chinese), doubles as text (DBL_MAX survives exactly).

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

namespace {

constexpr int REASON_READ_FAILED = 0x1001;
constexpr int REASON_WRITE_FAILED = 0x1002;
constexpr int REASON_HEARTBEAT_TIMEOUT = 0x2001;
constexpr int REASON_BAD_PACKET = 0x2003;
constexpr uint32_t MAX_FRAME = 1 << 20;

// Frames the library counted as bad and dropped (read by the kind through dlsym, see
// mdhub_loopback_bad_packets below).
std::atomic<long> g_bad_packets{0};

using Clock = std::chrono::steady_clock;
using Fields = std::vector<std::pair<std::string, std::string>>;

template <size_t N>
void assign(char (&dst)[N], const std::string& value) {
    size_t n = value.size() < N - 1 ? value.size() : N - 1;
    std::memcpy(dst, value.data(), n);
    dst[n] = '\0';
}
void assign(double& dst, const std::string& value) { dst = std::strtod(value.c_str(), nullptr); }
void assign(int& dst, const std::string& value) { dst = static_cast<int>(std::strtol(value.c_str(), nullptr, 10)); }
[[maybe_unused]] void assign(long long& dst, const std::string& value) { dst = std::strtoll(value.c_str(), nullptr, 10); }
[[maybe_unused]] void assign(char& dst, const std::string& value) { dst = value.empty() ? '\0' : value[0]; }

template <class S>
using Setter = void (*)(S&, const std::string&);

// One table per record type: field name -> how to store its text value.
#define FIELD(S, name) {#name, [](S& s, const std::string& v) { assign(s.name, v); }}

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

const std::unordered_map<std::string, Setter<CThostFtdcRspUserLoginField>>& login_fields() {
    using S = CThostFtdcRspUserLoginField;
    static const std::unordered_map<std::string, Setter<S>> table = {
        FIELD(S, TradingDay), FIELD(S, LoginTime), FIELD(S, BrokerID), FIELD(S, UserID),
        FIELD(S, SystemName), FIELD(S, FrontID), FIELD(S, SessionID), FIELD(S, MaxOrderRef),
        FIELD(S, SHFETime), FIELD(S, DCETime), FIELD(S, CZCETime), FIELD(S, FFEXTime), FIELD(S, INETime),
    };
    return table;
}

const std::unordered_map<std::string, Setter<CThostFtdcRspInfoField>>& info_fields() {
    using S = CThostFtdcRspInfoField;
    static const std::unordered_map<std::string, Setter<S>> table = {FIELD(S, ErrorID), FIELD(S, ErrorMsg)};
    return table;
}

#undef FIELD

template <class S>
void fill(S& record, const Fields& fields, const std::unordered_map<std::string, Setter<S>>& table) {
    for (const auto& [key, value] : fields) {
        auto found = table.find(key);
        if (found != table.end()) found->second(record, value);
    }
}

Fields parse(const std::string& payload) {
    Fields fields;
    size_t start = 0;
    while (start < payload.size()) {
        size_t end = payload.find('\n', start);
        if (end == std::string::npos) end = payload.size();
        size_t eq = payload.find('=', start);
        if (eq != std::string::npos && eq < end) {
            fields.emplace_back(payload.substr(start, eq - start), payload.substr(eq + 1, end - eq - 1));
        }
        start = end + 1;
    }
    return fields;
}

std::string value_of(const Fields& fields, const char* key, const char* fallback = "") {
    for (const auto& [k, v] : fields)
        if (k == key) return v;
    return fallback;
}

int open_connection(const std::string& address, int timeout_ms) {
    // "tcp://host:port" as the gateway registers it; the scheme is optional.
    std::string rest = address;
    size_t scheme = rest.find("://");
    if (scheme != std::string::npos) rest = rest.substr(scheme + 3);
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos) return -1;
    std::string host = rest.substr(0, colon), port = rest.substr(colon + 1);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) return -1;
    int fd = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
    if (fd < 0) {
        freeaddrinfo(found);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = connect(fd, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    if (rc != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    pollfd pfd{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof(err);
    if (poll(&pfd, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, flags);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

class LoopbackMdApi final : public CThostFtdcMdApi {
public:
    explicit LoopbackMdApi(const char* flow_path) : flow_path_(flow_path ? flow_path : "") {}

    void Release() override {
        running_ = false;
        if (thread_.joinable()) {
            // Released from one of our own callbacks: the thread cannot join itself.
            if (thread_.get_id() == std::this_thread::get_id()) thread_.detach();
            else thread_.join();
        }
        delete this;
    }

    void Init() override {
        if (running_.exchange(true)) return;
        thread_ = std::thread([this] { run(); });
    }

    int Join() override {
        if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
        return 0;
    }

    const char* GetTradingDay() override { return trading_day_; }
    void RegisterFront(char* address) override {
        if (address) fronts_.emplace_back(address);
    }
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
        std::string payload = "RequestID=" + std::to_string(request_id) + "\nFlavour=" LOOPBACK_FLAVOUR "\n";
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

private:
    ~LoopbackMdApi() {
        std::lock_guard<std::mutex> lock(write_mutex_);
        if (fd_ >= 0) close(fd_);
    }

    int send_ids(char type, char* ids[], int count) {
        std::string payload;
        for (int i = 0; i < count; ++i)
            if (ids && ids[i]) payload += std::string("InstrumentID=") + ids[i] + "\n";
        return send_frame(type, payload);
    }

    // Requests come from the gateway's threads; the socket is written under a lock. -1 like
    // the vendor library when the network is down.
    int send_frame(char type, const std::string& payload) {
        std::lock_guard<std::mutex> lock(write_mutex_);
        if (fd_ < 0) return -1;
        uint32_t length = htonl(static_cast<uint32_t>(payload.size() + 1));
        std::string frame(reinterpret_cast<const char*>(&length), 4);
        frame += type;
        frame += payload;
        size_t sent = 0;
        while (sent < frame.size()) {
            ssize_t n = send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                write_failed_ = true;
                return -1;
            }
            sent += static_cast<size_t>(n);
        }
        return 0;
    }

    void sleep_while_running(int ms) {
        for (int waited = 0; running_ && waited < ms; waited += 50)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }

    void run() {
        size_t next = 0;
        while (running_) {
            if (fronts_.empty()) {
                sleep_while_running(100);
                continue;
            }
            int fd = open_connection(fronts_[next++ % fronts_.size()], 2000);
            if (fd < 0) {
                sleep_while_running(reconnect_ms_);
                continue;
            }
            {
                std::lock_guard<std::mutex> lock(write_mutex_);
                fd_ = fd;
                write_failed_ = false;
            }
            greeted_ = false;
            int reason = session(fd);
            {
                std::lock_guard<std::mutex> lock(write_mutex_);
                close(fd_);
                fd_ = -1;
            }
            if (!running_) break;
            // A connection the front never greeted was never "connected" for the gateway.
            if (greeted_ && spi_) spi_->OnFrontDisconnected(reason);
            sleep_while_running(reconnect_ms_);
        }
    }

    int session(int fd) {
        std::string buffer;
        char chunk[65536];
        auto last_rx = Clock::now(), last_tx = Clock::now();
        bool warned = false;
        while (running_) {
            pollfd pfd{fd, POLLIN, 0};
            int ready = poll(&pfd, 1, 100);
            if (ready > 0) {
                ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
                if (n <= 0) return REASON_READ_FAILED;
                buffer.append(chunk, static_cast<size_t>(n));
                last_rx = Clock::now();
                warned = false;
                size_t offset = 0;
                while (buffer.size() - offset >= 4) {
                    uint32_t length;
                    std::memcpy(&length, buffer.data() + offset, 4);
                    length = ntohl(length);
                    if (length == 0 || length > MAX_FRAME) {
                        ++g_bad_packets;
                        return REASON_BAD_PACKET;
                    }
                    if (buffer.size() - offset < 4 + length) break;
                    char type = buffer[offset + 4];
                    std::string payload = buffer.substr(offset + 5, length - 1);
                    offset += 4 + length;
                    dispatch(type, payload);
                    if (!running_) return 0;
                }
                buffer.erase(0, offset);
            }
            if (write_failed_) return REASON_WRITE_FAILED;
            auto now = Clock::now();
            double quiet = std::chrono::duration<double>(now - last_rx).count();
            if (quiet * 1000 > heartbeat_timeout_ms_) return REASON_HEARTBEAT_TIMEOUT;
            if (!warned && quiet * 1000 > heartbeat_warning_ms_) {
                warned = true;
                if (spi_ && greeted_) spi_->OnHeartBeatWarning(static_cast<int>(quiet));
            }
            if (std::chrono::duration<double>(now - last_tx).count() >= 1.0) {
                last_tx = now;
                send_frame('H', "");
            }
        }
        return 0;
    }

    void dispatch(char type, const std::string& payload) {
        Fields fields = parse(payload);
        int request_id = std::atoi(value_of(fields, "RequestID", "0").c_str());
        bool is_last = value_of(fields, "IsLast", "1") != "0";
        CThostFtdcRspInfoField info{};
        fill(info, fields, info_fields());
        switch (type) {
            case 'C': {  // the front's greeting: its heartbeat and reconnect timings
                heartbeat_timeout_ms_ = std::atoi(value_of(fields, "HeartbeatTimeoutMs", "10000").c_str());
                heartbeat_warning_ms_ = std::atoi(value_of(fields, "HeartbeatWarningMs", "5000").c_str());
                reconnect_ms_ = std::atoi(value_of(fields, "ReconnectMs", "1000").c_str());
                greeted_ = true;
                if (spi_) spi_->OnFrontConnected();
                break;
            }
            case 'H':
                break;
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

    std::string flow_path_;
    std::vector<std::string> fronts_;
    CThostFtdcMdSpi* spi_ = nullptr;
    std::thread thread_;
    std::atomic<bool> running_{false};
    std::atomic<bool> greeted_{false};
    std::atomic<bool> write_failed_{false};
    std::mutex write_mutex_;
    int fd_ = -1;
    char trading_day_[9] = "";
    int heartbeat_timeout_ms_ = 10000;
    int heartbeat_warning_ms_ = 5000;
    int reconnect_ms_ = 1000;
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
