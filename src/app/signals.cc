#include "app/signals.h"

#include <pthread.h>

#include <ostream>

namespace dslmodel::app {

SignalBlock::SignalBlock() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
}

SignalBlock::~SignalBlock() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

void watch_signals(const std::stop_token& self, const sigset_t& set, std::stop_source& stop,
                   std::ostream& err, std::string_view doing, std::condition_variable_any* cv) {
  while (!self.stop_requested()) {
    timespec ts{0, 100'000'000};
    siginfo_t info{};
    const int sig = sigtimedwait(&set, &info, &ts);
    if (sig > 0) {
      err << "dsl: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << " received, " << doing << "\n";
      stop.request_stop();
      if (cv != nullptr) cv->notify_all();
      return;
    }
  }
}

}  // namespace dslmodel::app
