#include <beacon/views/report_stream.hpp>

#include <stdexcept>

namespace beacon::views {

SortedReportStream::SortedReportStream(Sink sink) : sink_(std::move(sink)) {}

void SortedReportStream::close_group() {
  if (have_group_ && group_.size() >= 2) {
    divergence_sum_ += mean_pairwise_distance(group_);
    ++q_.divergence_groups;
  }
  group_.clear();
  have_group_ = false;
}

void SortedReportStream::close_question() {
  if (!have_question_) return;
  close_group();
  if (words_answers_ > 0) q_.mean_words = static_cast<double>(words_total_) / words_answers_;
  for (const auto& [region, wc] : words_by_region_)
    q_.mean_words_by_region[region] = static_cast<double>(wc.first) / wc.second;
  if (q_.divergence_groups > 0) q_.divergence = divergence_sum_ / static_cast<double>(q_.divergence_groups);
  sink_(q_);
  q_ = QuestionReport{};
  words_total_ = words_answers_ = 0;
  words_by_region_.clear();
  divergence_sum_ = 0;
  have_question_ = false;
}

void SortedReportStream::add(const ReportRow& row) {
  if (have_question_ && row.question != q_.question) {
    // Question order is the database's collation (the order `report` lists
    // them in), so it is not checked here; a question seen twice would be
    // listed twice.
    close_question();
  }
  if (!have_question_) {
    have_question_ = true;
    q_.question = row.question;
  }
  ++q_.executions;
  if (row.status != "completed") return;
  if (have_group_ && (row.model != group_model_ || row.sample != group_sample_)) {
    if (std::make_pair(row.model, row.sample) < std::make_pair(group_model_, group_sample_))
      throw std::logic_error("report rows out of (model, sample) order in question " + row.question);
    close_group();
  }
  if (!have_group_) {
    have_group_ = true;
    group_model_ = row.model;
    group_sample_ = row.sample;
  }
  ++q_.completed;
  const bool refused = row.classification == "refused";
  auto& rr = q_.refusal_by_region[row.region];
  auto& rm = q_.refusal_by_model[row.model];
  ++rr.judged;
  ++rm.judged;
  rr.refused += refused;
  rm.refused += refused;
  const auto words = words_of(row.text);
  words_total_ += static_cast<long>(words.size());
  ++words_answers_;
  auto& wr = words_by_region_[row.region];
  wr.first += static_cast<long>(words.size());
  ++wr.second;
  group_[row.region] = answer_word_set(words);
}

void SortedReportStream::finish() { close_question(); }

}  // namespace beacon::views
