#pragma once
// Reading a server-side cursor one page ahead.
//
// A plain FETCH loop leaves the two sides taking turns: Postgres produces a
// page while the client waits, then the client writes it out while Postgres
// idles. On a million-row export that doubled the wall time (docs/
// performance.md). Here a second thread issues the next FETCH while the
// caller handles the current page, so the server's work and the client's
// overlap. Only that thread touches the transaction until the walk ends; the
// caller only reads results it was handed.
#include <functional>
#include <string>

#include <pqxx/pqxx>

namespace beacon::db {

// Calls `on_page` with every page (`page_size` rows, the last one shorter,
// possibly empty) of the cursor `cursor`, already DECLAREd in `t`, in order.
// The next FETCH runs while `on_page` handles the current page; at most three
// pages are in memory (the caller's, one waiting, one being fetched). An
// exception from a FETCH or from `on_page` stops the walk and propagates once
// the fetching thread has finished its statement; `t` is then usable again
// (to roll back or commit). Returns the rows seen.
std::size_t for_each_cursor_page(pqxx::transaction_base& t, const std::string& cursor, int page_size,
                                 const std::function<void(const pqxx::result&)>& on_page);

}  // namespace beacon::db
