#include <beacon/core/plan_stream.hpp>

#include <beacon/core/questions_file.hpp>

namespace beacon {

PlanStream::PlanStream(const JobSpec& spec, int submission, std::string enqueued_at)
    : spec_(spec), submission_(submission), enqueued_at_(std::move(enqueued_at)) {}

PlanStream::~PlanStream() = default;

namespace {
[[noreturn]] void file_changed(const std::string& path) {
  throw SpecError("questions_file", "'" + path +
                                        "' changed while the job was being submitted; run the submit again with the "
                                        "file unchanged");
}
}  // namespace

void PlanStream::end_file_pass() {
  const std::string digest = hasher_->finish_hex();
  reader_.reset();
  hasher_.reset();
  if (q_ != spec_.questions_file->count || digest != spec_.questions_file->sha256_hex)
    file_changed(spec_.questions_file->path);
}

bool PlanStream::load_question() {
  if (!spec_.questions_file) {
    const std::size_t n = spec_.questions.size();
    if (n == 0) {  // no questions: one execution per (region, model), question ""
      if (q_ > 0) return false;
      question_ = Question{"", ""};
      return true;
    }
    if (q_ >= n) return false;
    question_ = spec_.questions[q_];
    return true;
  }
  if (q_ == 0) {
    reader_ = std::make_unique<QuestionsReader>(spec_.questions_file->path);
    hasher_ = std::make_unique<QuestionsHasher>();
  }
  if (!reader_->next(question_)) {
    end_file_pass();
    return false;
  }
  hasher_->add(question_);
  if (q_ >= spec_.questions_file->count) file_changed(spec_.questions_file->path);  // more than scanned
  return true;
}

bool PlanStream::next(std::size_t max, PlanChunk& out) {
  out.messages.clear();
  out.question_ord.clear();
  out.file_questions.clear();
  while (out.messages.size() < max && r_ < spec_.regions.size()) {
    if (!have_question_) {
      if (!load_question()) {
        // Questions done for this (region, model): next model, next region.
        q_ = 0;
        if (++m_ == spec_.models.size()) {
          m_ = 0;
          ++r_;
        }
        continue;
      }
      have_question_ = true;
      s_ = 0;
      if (spec_.questions_file && r_ == 0 && m_ == 0) out.file_questions.push_back(question_);
    }
    ExecutionMessage msg;
    msg.key = ExecutionKey{spec_.job_id, spec_.regions[r_], spec_.models[m_], question_.id, s_};
    msg.prompt = question_.prompt;
    msg.system_prompt = spec_.system_prompt;
    msg.params_json = spec_.params_json;
    msg.reuse = spec_.reuse;
    msg.enqueued_at = enqueued_at_;
    msg.submission = submission_;
    out.messages.push_back(std::move(msg));
    out.question_ord.push_back(static_cast<int>(q_));
    ++produced_;
    if (++s_ == spec_.samples) {
      have_question_ = false;
      ++q_;
    }
  }
  return !out.messages.empty();
}

}  // namespace beacon
