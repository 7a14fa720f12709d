#include "ha/etcd_elector.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "core/json_text.h"
#include "dslmodel/time.h"

namespace dslmodel::ha {
namespace {

using std::chrono::milliseconds;

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string trim_slashes(std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix;
}

// The id in a leader record, "" when it has none.
std::string holder_of(const std::string& value) {
  auto j = parse_json_or_discarded(value);
  if (!j.is_object()) return "";
  auto it = j.find("id");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string held_by(const std::string& holder) {
  return holder.empty() ? "held by another replica" : "held by " + holder;
}

}  // namespace

EtcdElector::EtcdElector(std::shared_ptr<etcd::Client> client, std::string prefix, std::string id,
                         std::chrono::seconds ttl, std::chrono::milliseconds retry)
    : client_(std::move(client)),
      key_(trim_slashes(std::move(prefix)) + "/leader"),
      id_(std::move(id)),
      ttl_(std::max(ttl, std::chrono::seconds(1))),
      retry_(std::max(retry, milliseconds(10))),
      margin_(std::max(milliseconds(ttl_) / 5, milliseconds(200))),
      watchdog_([this](const std::stop_token& stop) { watch_deadline(stop); }),
      thread_([this](const std::stop_token& stop) { run(stop); }) {}

EtcdElector::~EtcdElector() { resign(); }

EtcdElector::SteadyClock::time_point EtcdElector::deadline_locked() const {
  return lease_sent_ + ttl_ - margin_;
}

bool EtcdElector::leading_locked(SteadyClock::time_point now) const {
  return leader_ && now < deadline_locked();
}

Leadership EtcdElector::current() const {
  std::lock_guard<std::mutex> guard(mu_);
  const bool leading = leading_locked(SteadyClock::now());
  Leadership l;
  l.is_leader = leading;
  l.epoch = leading ? epoch_ : 0;
  if (leading) {
    l.holder = id_;
    return l;
  }
  if (!unreachable_.empty()) {
    l.detail = unreachable_;  // the holder is unknown while etcd cannot be asked
  } else if (leader_) {
    l.detail = "lease not renewed in time";
  } else {
    l.holder = holder_;
    l.detail = detail_;
  }
  return l;
}

std::int64_t EtcdElector::lease_id() const {
  std::lock_guard<std::mutex> guard(mu_);
  return lease_;
}

void EtcdElector::on_change(std::function<void()> callback) {
  std::lock_guard<std::mutex> guard(mu_);
  callback_ = std::move(callback);
}

void EtcdElector::pause_for_testing(bool paused) {
  std::lock_guard<std::mutex> guard(mu_);
  paused_ = paused;
}

Result<bool> EtcdElector::key_is_ours(std::int64_t epoch, std::int64_t lease, std::string* holder) {
  using etcd::Compare;
  auto r = client_->txn({Compare::create_revision(key_, Compare::Op::kEqual, epoch),
                         Compare::lease(key_, Compare::Op::kEqual, lease)},
                        {}, {etcd::TxnOp::get(key_)});
  if (!r.ok()) return r.status();
  if (!r->succeeded && holder != nullptr && !r->ranges.empty() && !r->ranges[0].kvs.empty()) {
    *holder = holder_of(r->ranges[0].kvs[0].value);
  }
  return r->succeeded;
}

Status EtcdElector::confirm(std::int64_t epoch) {
  std::int64_t lease = 0;
  {
    std::lock_guard<std::mutex> guard(mu_);
    if (!leading_locked(SteadyClock::now())) {
      return Status(ErrorCode::kConflict, fmt::format("not leader (epoch {})", epoch));
    }
    if (epoch != epoch_) {
      return Status(ErrorCode::kConflict,
                    fmt::format("epoch {} is not the current epoch {}", epoch, epoch_));
    }
    lease = lease_;
  }
  std::string holder;
  auto ours = key_is_ours(epoch, lease, &holder);
  if (!ours.ok()) {
    return Status(
        ErrorCode::kUnavailable,
        fmt::format("cannot confirm leadership: etcd unreachable: {}", ours.status().message()));
  }
  std::lock_guard<std::mutex> guard(mu_);
  if (!*ours) {
    if (leader_ && epoch_ == epoch) {
      step_down_locked("lost: the leader key is gone or taken over");
      holder_ = holder;
    }
    return Status(ErrorCode::kConflict, fmt::format("leadership lost (epoch {})", epoch));
  }
  if (!leading_locked(SteadyClock::now())) {
    return Status(ErrorCode::kConflict, fmt::format("lease ran out (epoch {})", epoch));
  }
  return Status::Ok();
}

void EtcdElector::resign() {
  std::lock_guard<std::mutex> resigning(resign_mu_);
  thread_.request_stop();
  watchdog_.request_stop();
  for (std::jthread* t : {&thread_, &watchdog_}) {
    if (t->joinable() && t->get_id() != std::this_thread::get_id()) t->join();
  }
  std::int64_t lease = 0;
  {
    std::lock_guard<std::mutex> guard(mu_);
    lease = lease_;
    lease_ = 0;
    leader_ = false;
    epoch_ = 0;
    holder_.clear();
    unreachable_.clear();
    detail_ = "resigned";
    resigned_ = true;
  }
  if (lease != 0) (void)client_->lease_revoke(lease);  // when it fails, the lease expires
}

void EtcdElector::step_down_locked(const std::string& why) {
  leader_ = false;
  epoch_ = 0;
  holder_.clear();
  detail_ = why;
  next_renewal_ = {};  // a lost key may mean a lost lease: check it before campaigning again
  ++changes_;
  watch_cv_.notify_all();
}

void EtcdElector::set_unreachable(const Status& s) {
  std::lock_guard<std::mutex> guard(mu_);
  const bool down = s.code() == ErrorCode::kUnavailable || s.code() == ErrorCode::kTimeout;
  unreachable_ = (down ? "etcd unreachable: " : "etcd error: ") + s.message();
}

void EtcdElector::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    const auto next = step();
    notify_if_changed();
    std::unique_lock<std::mutex> lock(mu_);
    ++changes_;  // the deadline may have moved: the watchdog recomputes it
    watch_cv_.notify_all();
    cv_.wait_until(lock, stop, next, [] { return false; });
  }
}

EtcdElector::SteadyClock::time_point EtcdElector::step() {
  const auto now = SteadyClock::now();
  {
    std::lock_guard<std::mutex> guard(mu_);
    if (paused_ || resigned_) return now + retry_;
    if (leader_ && now >= deadline_locked()) step_down_locked("lease not renewed in time");
  }
  if (keep_lease()) {
    bool leader = false;
    {
      std::lock_guard<std::mutex> guard(mu_);
      leader = leader_;
    }
    if (leader) {
      verify();
    } else {
      campaign();
    }
  }
  std::lock_guard<std::mutex> guard(mu_);
  const auto soon = SteadyClock::now() + retry_;
  return lease_ != 0 ? std::min(next_renewal_, soon) : soon;
}

bool EtcdElector::keep_lease() {
  std::int64_t lease = 0;
  SteadyClock::time_point next_renewal{};
  {
    std::lock_guard<std::mutex> guard(mu_);
    lease = lease_;
    next_renewal = next_renewal_;
  }
  const auto sent = SteadyClock::now();
  if (lease == 0) {
    auto granted = client_->lease_grant(ttl_.count());
    if (!granted.ok()) {
      set_unreachable(granted.status());
      return false;
    }
    std::lock_guard<std::mutex> guard(mu_);
    lease_ = granted->id;
    lease_sent_ = sent;
    next_renewal_ = sent + ttl_ / 3;
    unreachable_.clear();
    return true;
  }
  if (sent >= next_renewal) {
    auto renewed = client_->lease_keepalive(lease);
    if (renewed.ok() && *renewed > 0) {
      std::lock_guard<std::mutex> guard(mu_);
      lease_sent_ = sent;
      next_renewal_ = sent + ttl_ / 3;
      unreachable_.clear();
    } else if (renewed.ok() || renewed.status().code() == ErrorCode::kNotFound) {
      {
        std::lock_guard<std::mutex> guard(mu_);
        lease_ = 0;
        unreachable_.clear();
        if (leader_) step_down_locked("lease expired");
      }
      return keep_lease();  // a new lease at once
    } else {
      set_unreachable(renewed.status());  // renewal retried every `retry` until the deadline
    }
  }
  std::lock_guard<std::mutex> guard(mu_);
  return SteadyClock::now() < deadline_locked();
}

void EtcdElector::campaign() {
  using etcd::Compare;
  using etcd::TxnOp;
  std::int64_t lease = 0;
  {
    std::lock_guard<std::mutex> guard(mu_);
    lease = lease_;
  }
  const nlohmann::json record = {{"id", id_},
                                 {"host", host_name()},
                                 {"pid", static_cast<std::int64_t>(::getpid())},
                                 {"since", format_iso8601(std::chrono::system_clock::now())}};
  auto r = client_->txn({Compare::absent(key_)}, {TxnOp::put(key_, dump_json(record), lease)},
                        {TxnOp::get(key_)});
  if (!r.ok()) {
    set_unreachable(r.status());
    const ErrorCode code = r.status().code();
    if (code != ErrorCode::kUnavailable && code != ErrorCode::kTimeout) {
      std::lock_guard<std::mutex> guard(mu_);
      next_renewal_ = {};  // e.g. "requested lease not found": renew before the next try
    }
    return;
  }
  std::lock_guard<std::mutex> guard(mu_);
  unreachable_.clear();
  if (lease_ != lease) return;
  if (r->succeeded) {
    leader_ = true;
    epoch_ = r->revision;
  } else if (!r->ranges.empty() && !r->ranges[0].kvs.empty()) {
    const etcd::KeyValue& kv = r->ranges[0].kvs[0];
    if (kv.lease == lease) {  // ours already, e.g. across an etcd restart
      leader_ = true;
      epoch_ = kv.create_revision;
    } else {
      holder_ = holder_of(kv.value);
      detail_ = held_by(holder_);
      return;
    }
  } else {
    detail_ = "campaigning";
    return;
  }
  holder_ = id_;
  detail_.clear();
  ++changes_;
}

void EtcdElector::verify() {
  std::int64_t lease = 0;
  std::int64_t epoch = 0;
  {
    std::lock_guard<std::mutex> guard(mu_);
    lease = lease_;
    epoch = epoch_;
  }
  std::string holder;
  auto ours = key_is_ours(epoch, lease, &holder);
  if (!ours.ok()) {
    set_unreachable(ours.status());
    return;
  }
  std::lock_guard<std::mutex> guard(mu_);
  unreachable_.clear();
  if (!*ours && leader_ && epoch_ == epoch) {
    step_down_locked("lost: the leader key is gone or taken over");
    holder_ = holder;
  }
}

void EtcdElector::watch_deadline(const std::stop_token& stop) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop.stop_requested()) {
    const std::uint64_t seen = changes_;
    const auto now = SteadyClock::now();
    auto wake = now + std::chrono::milliseconds(ttl_);
    if (leader_ && deadline_locked() > now) wake = std::min(wake, deadline_locked());
    watch_cv_.wait_until(lock, stop, wake, [&] { return changes_ != seen; });
    lock.unlock();
    notify_if_changed();
    lock.lock();
  }
}

void EtcdElector::notify_if_changed() {
  notify_pending_.store(true);
  while (notify_pending_.load()) {
    std::unique_lock<std::mutex> notifying(notify_mu_, std::try_to_lock);
    if (!notifying.owns_lock()) return;  // the thread holding it checks again after its call
    while (notify_pending_.exchange(false)) {
      const Leadership now = current();
      if (now.is_leader == notified_leader_ && now.epoch == notified_epoch_) continue;
      notified_leader_ = now.is_leader;
      notified_epoch_ = now.epoch;
      std::function<void()> callback;
      {
        std::lock_guard<std::mutex> guard(mu_);
        callback = callback_;
      }
      if (callback) callback();
    }
  }
}

}  // namespace dslmodel::ha
