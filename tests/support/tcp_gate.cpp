#include "tcp_gate.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace beacon::amqp::testing {
namespace {

constexpr int kTickMs = 50;  // how often loops look at stop/cut/silence

int connect_to(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return -1;
  int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

// Moves what is readable on `from` to `to`; false when either side is done.
bool forward(int from, int to) {
  char buf[16384];
  const ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    const ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
    if (w <= 0) return false;
    off += w;
  }
  return true;
}

}  // namespace

TcpGate::TcpGate(std::string upstream_host, int upstream_port)
    : upstream_host_(std::move(upstream_host)), upstream_port_(upstream_port) {
  // CLOEXEC everywhere: a child started later (a worker) must not inherit a
  // relayed socket, or cut() closes nothing (the child keeps the connection open).
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // a free port, never a fixed one
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 16) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    throw std::runtime_error("tcp gate: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpGate::~TcpGate() {
  stop_ = true;
  acceptor_.join();
  ::close(listen_fd_);
  std::lock_guard lock(mutex_);
  for (auto& t : relays_) t.join();
}

void TcpGate::cut() {
  silent_ = false;
  ++epoch_;
}

void TcpGate::blackhole() { silent_ = true; }

void TcpGate::refuse() {
  refusing_ = true;
  cut();
}

void TcpGate::open() { refusing_ = false; }

void TcpGate::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kTickMs) <= 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    if (refusing_) {
      ::close(client);
      continue;
    }
    const int upstream = connect_to(upstream_host_, upstream_port_);
    if (upstream < 0) {
      ::close(client);
      continue;
    }
    std::lock_guard lock(mutex_);
    relays_.emplace_back([this, client, upstream, epoch = epoch_.load()] {
      relay(client, upstream, epoch);
    });
  }
}

void TcpGate::relay(int client_fd, int upstream_fd, unsigned epoch) {
  while (!stop_ && epoch_ == epoch) {
    if (silent_) {
      // Read nothing, write nothing: the bytes wait in kernel buffers.
      std::this_thread::sleep_for(std::chrono::milliseconds(kTickMs));
      continue;
    }
    pollfd p[2] = {{client_fd, POLLIN, 0}, {upstream_fd, POLLIN, 0}};
    if (::poll(p, 2, kTickMs) <= 0) continue;
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !forward(client_fd, upstream_fd)) break;
    if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) && !forward(upstream_fd, client_fd)) break;
  }
  ::close(client_fd);
  ::close(upstream_fd);
}

}  // namespace beacon::amqp::testing
