// SIGINT/SIGTERM for the long-running commands (auto loop, agent run): blocked in every thread
// and taken by one watcher thread, which requests stop. Not thread-safe; one per command.
#pragma once

#include <signal.h>

#include <condition_variable>
#include <iosfwd>
#include <stop_token>
#include <string_view>

namespace dslmodel::app {

// Blocks SIGINT/SIGTERM for the lifetime of the object and restores the old mask after.
// Create it before any thread, so that every thread inherits the mask.
class SignalBlock {
 public:
  SignalBlock();
  ~SignalBlock();
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;
  const sigset_t& set() const { return set_; }

 private:
  sigset_t set_{};
  sigset_t old_{};
};

// Waits for SIGINT/SIGTERM; on one, prints "dsl: SIGTERM received, <doing>", requests `stop` and
// wakes `cv` (when given). Ends when `self` is stopped.
void watch_signals(const std::stop_token& self, const sigset_t& set, std::stop_source& stop,
                   std::ostream& err, std::string_view doing,
                   std::condition_variable_any* cv = nullptr);

}  // namespace dslmodel::app
