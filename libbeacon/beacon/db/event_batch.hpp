#pragma once
// A batch of result events as apply_events.sql takes it: reduced to one event
// per execution key, then encoded as one JSON array parameter.
//
// Reducing in C++ first keeps the SQL simple (an UPDATE may touch a row only
// once per statement) and makes the outcome independent of arrival order
// within a batch: a `completed` wins, then the newest submission's event, then
// the highest event_rank(); equal ranks keep the later one (state_machine.hpp).
#include <cstddef>
#include <string>
#include <vector>

#include <beacon/core/messages.hpp>

namespace beacon::db {

struct KeyedEvent {
  std::size_t winner = 0;             // index into the batch of the event applied
  std::vector<std::size_t> members;   // every index with this key, winner included
  // The winner's started_at, or, when it has none, the latest one another
  // event of the key carried (a `started` and a `completed` in one batch).
  std::string started_at;
};

// One entry per distinct key, in key order (the order rows are locked in).
std::vector<KeyedEvent> reduce_per_key(const std::vector<ResultEvent>& batch);

// JSON array; element k encodes reduced[k] with "i": k, the status the event
// moves to, and its columns. Times become microseconds since the epoch (null
// when absent or malformed); every string is cleaned for jsonb (pg_json.hpp).
std::string encode_events(const std::vector<ResultEvent>& batch, const std::vector<KeyedEvent>& reduced);

// JSON array of the distinct job ids in the batch.
std::string encode_job_ids(const std::vector<ResultEvent>& batch);

}  // namespace beacon::db
