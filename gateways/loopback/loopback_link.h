// What the loopback market-data and trader libraries share: the frame format, the record
// tables, and the connection to gateways/loopback/front.py (connect, greeting, heartbeats,
// reconnect, the vendor's disconnect reasons).
//
// Included by loopback_md.cpp and loopback_td.cpp *inside* their API namespace (ctp_sopt for
// SOPT), after the standard headers and the vendor header: the record types it names are the
// flavour's own. Everything here has internal linkage (an unnamed namespace), so the two
// libraries loaded into one process never bind to each other's copies.

#ifndef MDHUB_LOOPBACK_LINK_H
#define MDHUB_LOOPBACK_LINK_H

namespace {

constexpr int REASON_READ_FAILED = 0x1001;
constexpr int REASON_WRITE_FAILED = 0x1002;
constexpr int REASON_HEARTBEAT_TIMEOUT = 0x2001;
constexpr int REASON_BAD_PACKET = 0x2003;
constexpr uint32_t MAX_FRAME = 1 << 20;

// Frames the library counted as bad and dropped (read by the kind through dlsym).
std::atomic<long> g_bad_packets{0};

using Clock = std::chrono::steady_clock;
using Fields = std::vector<std::pair<std::string, std::string>>;

template <size_t N>
void assign(char (&dst)[N], const std::string& value) {
    size_t n = value.size() < N - 1 ? value.size() : N - 1;
    std::memcpy(dst, value.data(), n);
    dst[n] = '\0';
}
[[maybe_unused]] void assign(double& dst, const std::string& value) { dst = std::strtod(value.c_str(), nullptr); }
[[maybe_unused]] void assign(int& dst, const std::string& value) {
    dst = static_cast<int>(std::strtol(value.c_str(), nullptr, 10));
}
[[maybe_unused]] void assign(long long& dst, const std::string& value) { dst = std::strtoll(value.c_str(), nullptr, 10); }
[[maybe_unused]] void assign(char& dst, const std::string& value) { dst = value.empty() ? '\0' : value[0]; }

template <class S>
using Setter = void (*)(S&, const std::string&);

// One table per record type: field name -> how to store its text value.
#define FIELD(S, name) {#name, [](S& s, const std::string& v) { assign(s.name, v); }}

[[maybe_unused]] const std::unordered_map<std::string, Setter<CThostFtdcRspUserLoginField>>& login_fields() {
    using S = CThostFtdcRspUserLoginField;
    static const std::unordered_map<std::string, Setter<S>> table = {
        FIELD(S, TradingDay), FIELD(S, LoginTime), FIELD(S, BrokerID), FIELD(S, UserID),
        FIELD(S, SystemName), FIELD(S, FrontID), FIELD(S, SessionID), FIELD(S, MaxOrderRef),
        FIELD(S, SHFETime), FIELD(S, DCETime), FIELD(S, CZCETime), FIELD(S, FFEXTime), FIELD(S, INETime),
    };
    return table;
}

[[maybe_unused]] const std::unordered_map<std::string, Setter<CThostFtdcRspInfoField>>& info_fields() {
    using S = CThostFtdcRspInfoField;
    static const std::unordered_map<std::string, Setter<S>> table = {FIELD(S, ErrorID), FIELD(S, ErrorMsg)};
    return table;
}

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

// The connection to the front, run on the library's own thread as the vendor's is. Derived
// (CRTP, no extra vtable next to the vendor's) answers:
//   void on_connected();                       the front greeted us (SPI OnFrontConnected)
//   void on_disconnected(int reason);          a greeted connection ended (OnFrontDisconnected)
//   void on_heartbeat_warning(int seconds);    the front has gone quiet (OnHeartBeatWarning)
//   void on_frame(char type, const Fields&);   any other frame from the front
//   void on_record(const char*, size_t);       a 'B' frame's payload (binary, unparsed)
template <class Derived>
class FrontLink {
public:
    void add_front(const char* address) {
        if (address) fronts_.emplace_back(address);
    }

    void start_link() {
        if (running_.exchange(true)) return;
        thread_ = std::thread([this] { run(); });
    }

    void stop_link() {
        running_ = false;
        if (thread_.joinable()) {
            // Released from one of our own callbacks: the thread cannot join itself.
            if (thread_.get_id() == std::this_thread::get_id()) thread_.detach();
            else thread_.join();
        }
    }

    int join_link() {
        if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
        return 0;
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

protected:
    ~FrontLink() {
        std::lock_guard<std::mutex> lock(write_mutex_);
        if (fd_ >= 0) close(fd_);
    }

    bool running() const { return running_; }

private:
    Derived& self() { return static_cast<Derived&>(*this); }

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
            if (greeted_) self().on_disconnected(reason);
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
                    const char* body = buffer.data() + offset + 5;
                    offset += 4 + length;
                    if (type == 'B') {
                        // A binary record: the vendor's struct bytes as they are, no parse.
                        self().on_record(body, length - 1);
                    } else {
                        Fields fields = parse(std::string(body, length - 1));
                        if (type == 'C') greet(fields);
                        else if (type != 'H') self().on_frame(type, fields);
                    }
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
                if (greeted_) self().on_heartbeat_warning(static_cast<int>(quiet));
            }
            if (std::chrono::duration<double>(now - last_tx).count() >= 1.0) {
                last_tx = now;
                send_frame('H', "");
            }
        }
        return 0;
    }

    // The front's greeting: its heartbeat and reconnect timings.
    void greet(const Fields& fields) {
        heartbeat_timeout_ms_ = std::atoi(value_of(fields, "HeartbeatTimeoutMs", "10000").c_str());
        heartbeat_warning_ms_ = std::atoi(value_of(fields, "HeartbeatWarningMs", "5000").c_str());
        reconnect_ms_ = std::atoi(value_of(fields, "ReconnectMs", "1000").c_str());
        greeted_ = true;
        self().on_connected();
    }

    std::vector<std::string> fronts_;
    std::thread thread_;
    std::atomic<bool> running_{false};
    std::atomic<bool> greeted_{false};
    std::atomic<bool> write_failed_{false};
    std::mutex write_mutex_;
    int fd_ = -1;
    int heartbeat_timeout_ms_ = 10000;
    int heartbeat_warning_ms_ = 5000;
    int reconnect_ms_ = 1000;
};

}  // namespace

#endif  // MDHUB_LOOPBACK_LINK_H
