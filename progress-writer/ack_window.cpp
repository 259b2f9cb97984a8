#include "ack_window.hpp"

#include <algorithm>

namespace beacon::writer {

std::vector<AckFrame> AckWindow::acks_for(std::vector<std::uint64_t> tags) {
  std::vector<AckFrame> frames;
  if (tags.empty()) return frames;
  std::sort(tags.begin(), tags.end());
  // The longest run of the oldest outstanding tags that are all to be acked.
  std::size_t covered = 0;
  auto it = unacked_.begin();
  while (it != unacked_.end() && covered < tags.size() && *it == tags[covered]) {
    ++covered;
    ++it;
  }
  if (covered > 1) {
    frames.push_back({tags[covered - 1], true});
  } else if (covered == 1) {
    frames.push_back({tags[0], false});
  }
  unacked_.erase(unacked_.begin(), it);
  for (std::size_t i = covered; i < tags.size(); ++i) {
    frames.push_back({tags[i], false});
    unacked_.erase(tags[i]);
  }
  return frames;
}

}  // namespace beacon::writer
