#pragma once
// The Boost.Asio / Beast / SSL headers beacon/infer uses, in one place.
//
// <utility> must come first: Boost 1.74's awaitable.hpp uses std::exchange
// without including it, which breaks with GCC 12's libstdc++ (fixed in later
// Boost). Include this header instead of the Boost ones directly.
//
// GCC 12 also reports -Wmismatched-new-delete at the end of every coroutine
// returning asio::awaitable: a false positive (the frame's operator new and
// delete are Asio's matching pair; GCC bug 109224). It is raised where the
// coroutine is defined, so the suppression must stay in effect for the rest of
// the including file: that is why there is no push/pop here.
#include <utility>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace beacon::infer {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

}  // namespace beacon::infer
