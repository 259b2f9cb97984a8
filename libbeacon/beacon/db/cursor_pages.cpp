#include <beacon/db/cursor_pages.hpp>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace beacon::db {
namespace {

// The pages between the fetching thread and the caller: at most `capacity`
// waiting, so memory stays a few pages whatever the cursor's length.
class PageQueue {
 public:
  static constexpr std::size_t capacity = 1;  // plus the page the caller holds

  // Fetcher side. false when the caller gave up (stop()).
  bool push(pqxx::result page) {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return stopped_ || pages_.size() < capacity; });
    if (stopped_) return false;
    pages_.push_back(std::move(page));
    ready_.notify_one();
    return true;
  }
  void finish(std::exception_ptr error) {
    std::lock_guard lock(mutex_);
    finished_ = true;
    error_ = std::move(error);
    ready_.notify_one();
  }

  // Caller side. false at the end of the cursor; rethrows the fetcher's error.
  bool pop(pqxx::result& page) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !pages_.empty() || finished_; });
    if (!pages_.empty()) {
      page = std::move(pages_.front());
      pages_.pop_front();
      room_.notify_one();
      return true;
    }
    if (error_) std::rethrow_exception(error_);
    return false;
  }
  void stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    room_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_, room_;
  std::deque<pqxx::result> pages_;
  bool finished_ = false, stopped_ = false;
  std::exception_ptr error_;
};

}  // namespace

std::size_t for_each_cursor_page(pqxx::transaction_base& t, const std::string& cursor, int page_size,
                                 const std::function<void(const pqxx::result&)>& on_page) {
  if (page_size < 1) throw std::invalid_argument("for_each_cursor_page: page_size must be positive");
  const std::string fetch = "FETCH FORWARD " + std::to_string(page_size) + " FROM " + t.quote_name(cursor);
  PageQueue queue;
  std::thread fetcher([&] {
    try {
      for (;;) {
        pqxx::result page = t.exec(fetch);
        const bool last = page.size() < static_cast<std::size_t>(page_size);
        if (!queue.push(std::move(page)) || last) break;
      }
      queue.finish(nullptr);
    } catch (...) {
      queue.finish(std::current_exception());
    }
  });
  std::size_t rows = 0;
  try {
    for (pqxx::result page; queue.pop(page);) {
      rows += page.size();
      on_page(page);
    }
  } catch (...) {
    queue.stop();
    fetcher.join();
    throw;
  }
  fetcher.join();
  return rows;
}

}  // namespace beacon::db
