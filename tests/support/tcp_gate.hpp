#pragma once
// Test support: a TCP relay put between a client and the broker so a test
// can cut or silence the connection at will (the chaos "TCP gate" of
// STYLE.md). Listens on 127.0.0.1 on a free port.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace beacon::amqp::testing {

class TcpGate {
 public:
  TcpGate(std::string upstream_host, int upstream_port);
  ~TcpGate();
  TcpGate(const TcpGate&) = delete;
  TcpGate& operator=(const TcpGate&) = delete;

  int port() const { return port_; }
  // Closes every relayed connection at once, as a crashed peer or a reset
  // would. New connections are still accepted.
  void cut();
  // Stops relaying bytes on every connection, leaving the sockets open: the
  // peers hear nothing, as behind a dead router. Only heartbeats notice.
  void blackhole();
  // Cuts every connection and refuses new ones (accepted, then closed at
  // once, as a peer whose broker port is down) until open().
  void refuse();
  void open();

 private:
  void accept_loop();
  void relay(int client_fd, int upstream_fd, unsigned epoch);

  std::string upstream_host_;
  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> silent_{false};
  std::atomic<bool> refusing_{false};
  std::atomic<unsigned> epoch_{0};  // bumped by cut(): relays of older epochs close
  std::mutex mutex_;
  std::vector<std::thread> relays_;
  std::thread acceptor_;
};

}  // namespace beacon::amqp::testing
