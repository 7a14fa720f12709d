// The simulator's driver: engine policies through the real engine, the HPA baseline beside it.
#include "sim/simulate.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <optional>

#include "dslmodel/engine.h"
#include "dslmodel/policy.h"
#include "dslmodel/time.h"
#include "journal/history.h"
#include "sim/swarm_model.h"

namespace dslmodel::sim {
namespace {

using std::chrono::duration;
using std::chrono::duration_cast;

TimePoint default_origin() { return *parse_iso8601("2026-01-01T00:00:00Z"); }

TimePoint at_time(TimePoint origin, double s) {
  return origin + std::chrono::round<TimePoint::duration>(duration<double>(s));
}

// The engine's clock: the model's time.
class ModelClock final : public Clock {
 public:
  ModelClock(const SwarmModel* model, TimePoint origin) : model_(model), origin_(origin) {}
  TimePoint now() const override { return at_time(origin_, model_->now()); }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point(
        duration_cast<std::chrono::steady_clock::duration>(duration<double>(model_->now())));
  }

 private:
  const SwarmModel* model_;
  TimePoint origin_;
};

class ModelStore final : public CoordinationStore {
 public:
  explicit ModelStore(SwarmModel* model) : model_(model) {}
  Result<Snapshot> snapshot() override { return model_->snapshot(); }
  Result<RepairOutcome> apply(const std::vector<RepairAction>& actions) override {
    return model_->apply(actions);
  }
  Status undo(const nlohmann::json&) override {
    return {ErrorCode::kInvalidArgument, "the simulator does not roll back"};
  }
  std::string state_dir() const override { return {}; }
  std::string describe() const override { return "simulation"; }

 private:
  SwarmModel* model_;
};

class ModelActuator final : public Actuator {
 public:
  explicit ModelActuator(SwarmModel* model) : model_(model) {}
  Result<ActuationResult> scale(const ScaleRequest& r) override {
    const int changed = model_->scale_to(r.target_agents, r.stop_preference);
    ActuationResult out;
    out.summary = changed > 0   ? fmt::format("started {} agents", changed)
                  : changed < 0 ? fmt::format("stopped {} agents", -changed)
                                : fmt::format("already at {} agents", r.target_agents);
    return out;
  }
  Result<ActuationResult> undo(const nlohmann::json&) override {
    return Status(ErrorCode::kInvalidArgument, "the simulator does not roll back");
  }
  std::string name() const override { return "model"; }

 private:
  SwarmModel* model_;
};

// An in-memory journal: its summary is the fold of every record (journal/history.h), and it
// keeps for read_all() only what a history rule could still look at: records younger than
// `horizon` and the last executed scalings. Keeps a long simulation's cost per cycle flat.
class BoundedJournal final : public Journal {
 public:
  explicit BoundedJournal(TimePoint::duration horizon) : horizon_(horizon) {}
  Result<std::int64_t> append(JournalEntry e) override {
    e.seq = ++seq_;
    fold_.add(e);
    entries_.push_back(std::move(e));
    if (entries_.size() > 2 * kCompactAt) compact();
    return seq_;
  }
  Result<std::vector<JournalEntry>> read_all() const override {
    return std::vector<JournalEntry>(entries_.begin(), entries_.end());
  }
  Result<JournalSummary> summary() const override { return journal::summary_of(fold_); }

 private:
  static constexpr std::size_t kCompactAt = 512;
  static constexpr std::size_t kKeepScalings = 32;

  void compact() {
    const TimePoint cut = entries_.back().at - horizon_;
    std::size_t scalings = 0;
    std::deque<JournalEntry> kept;
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
      const bool scaling =
          it->outcome == Outcome::kExecuted && (it->decision.type == decision_type::kScaleUp ||
                                                it->decision.type == decision_type::kScaleDown);
      if (it->at >= cut || (scaling && scalings++ < kKeepScalings)) kept.push_front(*it);
    }
    entries_ = std::move(kept);
  }

  TimePoint::duration horizon_;
  journal::HistoryFold fold_;  // of every record, forgotten or not
  std::deque<JournalEntry> entries_;
  std::int64_t seq_ = 0;
};

double seconds_of(Seconds s) { return static_cast<double>(s.count()); }

// Books-keeping shared by every kind of policy.
class Run {
 public:
  Run(const Trace& trace, const PolicySpec& policy, const SimOptions& options)
      : policy_(policy),
        options_(options),
        model_(trace, model_options(policy, options)),
        run_until_s_(trace.run_until_s) {
    result_.policy = policy.name;
  }

  SwarmModel& model() { return model_; }
  SimResult& result() { return result_; }

  void observe() { result_.max_agents = std::max(result_.max_agents, model_.billed_agents()); }

  void record_action(const std::string& type, int from, int target, const std::string& reason) {
    const bool up = type == decision_type::kScaleUp;
    if (!result_.actions.empty() &&
        (result_.actions.back().type == decision_type::kScaleUp) != up) {
      ++result_.direction_changes;
    }
    if (result_.actions.empty()) {
      result_.min_target = result_.max_target = target;
    } else {
      result_.min_target = std::min(result_.min_target, target);
      result_.max_target = std::max(result_.max_target, target);
    }
    result_.actions.push_back({model_.now(), type, from, target, reason});
    ++result_.scale_actions;
  }

  void sample(double health) {
    if (!options_.series) return;
    result_.series.push_back({model_.now(), model_.billed_agents(), model_.queue_size(), health});
  }

  // Runs `cycle` at every interval until every item settled or the horizon passed.
  template <typename Cycle>
  void drive(double interval, Cycle&& cycle) {
    const double end = model_.last_arrival_s() + options_.horizon_after_s;
    double t = options_.first_cycle_s;
    for (;;) {
      model_.advance_to(t);
      observe();
      if (model_.all_settled() && t >= model_.last_arrival_s() && t > run_until_s_ + interval) {
        break;
      }
      if (t > end) break;
      cycle();
      observe();
      ++result_.cycles;
      t += interval;
    }
    finish();
  }

 private:
  static ModelOptions model_options(const PolicySpec& p, const SimOptions& o) {
    ModelOptions m;
    m.startup_lag_s = o.startup_lag_s;
    m.initial_agents =
        o.initial_agents >= 0 ? o.initial_agents : std::max(0, p.config.policy.min_agents);
    m.origin = o.origin == TimePoint{} ? default_origin() : o.origin;
    m.completed_window_s = std::max(600.0, seconds_of(p.config.policy.arrival_window) + 60.0);
    return m;
  }

  void finish() {
    std::vector<double> waits;
    for (const ItemOutcome& o : model_.outcomes()) {
      if (o.done_s) {
        ++result_.completed;
        waits.push_back(*o.first_claim_s - o.arrived_s);
      } else {
        ++result_.lost;
      }
    }
    result_.p50_wait_s = percentile(waits, 50);
    result_.p95_wait_s = percentile(waits, 95);
    result_.max_wait_s = waits.empty() ? 0.0 : *std::max_element(waits.begin(), waits.end());
    if (model_.settled_at()) {
      result_.drain_s = *model_.settled_at();
      result_.agent_seconds = model_.agent_seconds_at_settle();
    } else {
      result_.drain_s = model_.now();
      result_.agent_seconds = model_.agent_seconds();
    }
  }

  const PolicySpec& policy_;
  const SimOptions& options_;
  SwarmModel model_;
  double run_until_s_;
  SimResult result_;
};

Result<SimResult> simulate_engine(const Trace& trace, const PolicySpec& policy,
                                  const SimOptions& options) {
  Run run(trace, policy, options);
  Config cfg = policy.config;
  cfg.gate.dry_run = false;  // the question is what acting would do
  const PolicyConfig& p = cfg.policy;
  const Seconds horizon = 2 * std::max({p.scale_down_window, p.scale_down_delay, p.cooldown,
                                        p.scale_up_period, p.agent_timeout, Seconds(60)});
  const TimePoint origin = options.origin == TimePoint{} ? default_origin() : options.origin;
  EngineParts parts;
  parts.clock = std::make_unique<ModelClock>(&run.model(), origin);
  parts.store = std::make_unique<ModelStore>(&run.model());
  parts.journal = std::make_unique<BoundedJournal>(horizon);
  parts.actuator = std::make_unique<ModelActuator>(&run.model());
  AutonomousDecisionEngine engine(cfg, std::move(parts));
  ExecuteOptions exec;
  exec.max_decisions = cfg.gate.max_decisions;
  run.drive(options.interval_s, [&] {
    const int before = run.model().live_agents();
    auto c = engine.run_cycle(exec);
    if (!c.ok()) return;
    run.sample(c->metrics.health_score);
    for (const ExecutedDecision& x : c->execution.executed) {
      if (x.type != decision_type::kScaleUp && x.type != decision_type::kScaleDown) continue;
      auto d = std::find_if(c->decisions.begin(), c->decisions.end(),
                            [&](const Decision& dd) { return dd.id == x.decision_id; });
      if (d == c->decisions.end()) continue;
      const int target = d->scale ? static_cast<int>(d->scale->target_agents) : before;
      run.record_action(x.type, before, target, d->reason);
    }
  });
  return std::move(run.result());
}

// The HPA controller (pkg/controller/podautoscaler): replica calculation with tolerance,
// stabilization of recommendations, then the behavior's rate limits.
class Hpa {
 public:
  Hpa(const HpaOptions& o, const PolicyConfig& p, int replicas)
      : o_(o),
        min_(std::max(1, p.min_agents)),
        max_(std::max(min_, p.max_agents)),
        replicas_(replicas) {}

  int replicas() const { return replicas_; }

  // The new replica count at time t for a metric value (the backlog).
  int sync(double t, double metric) {
    int desired = replicas_;
    if (replicas_ > 0) {
      const double ratio = metric / (o_.target_per_agent * replicas_);
      if (std::fabs(ratio - 1.0) > o_.tolerance) {
        desired = static_cast<int>(std::ceil(metric / o_.target_per_agent));
      }
    } else {
      desired = static_cast<int>(std::ceil(metric / o_.target_per_agent));
    }
    // Stabilization: scale up at once (no window), down to the largest recommendation in the
    // window.
    recs_.emplace_back(t, desired);
    while (!recs_.empty() && recs_.front().first <= t - o_.scale_down_window_s) recs_.pop_front();
    int down = desired;
    for (const auto& [at, r] : recs_) down = std::max(down, r);
    int next = replicas_;
    if (desired > replicas_) {
      next = desired;
    } else if (down < replicas_) {
      next = down;
    }
    // Rate limit up: from the count at the period's start, 4 pods or 100%, whichever is more.
    while (!ups_.empty() && ups_.front().first <= t - o_.scale_up_period_s) ups_.pop_front();
    int added = 0;
    for (const auto& [at, n] : ups_) added += n;
    const int period_start = replicas_ - added;
    const int limit =
        std::max(period_start + o_.scale_up_pods,
                 static_cast<int>(std::ceil(period_start * (1.0 + o_.scale_up_percent / 100.0))));
    next = std::clamp(std::min(next, limit), min_, max_);
    if (next > replicas_) ups_.emplace_back(t, next - replicas_);
    replicas_ = next;
    return next;
  }

 private:
  HpaOptions o_;
  int min_, max_;
  int replicas_;
  std::deque<std::pair<double, int>> recs_;
  std::deque<std::pair<double, int>> ups_;
};

Result<SimResult> simulate_hpa(const Trace& trace, const PolicySpec& policy,
                               const SimOptions& options) {
  Run run(trace, policy, options);
  Hpa hpa(policy.hpa, policy.config.policy, run.model().live_agents());
  const TimePoint origin = options.origin == TimePoint{} ? default_origin() : options.origin;
  run.drive(policy.hpa.sync_period_s, [&] {
    const Snapshot snap = run.model().snapshot();
    const TimePoint now = at_time(origin, run.model().now());
    const SystemMetrics m = measure(snap, policy.config, now);
    run.sample(m.health_score);
    const int before = hpa.replicas();
    const int next = hpa.sync(run.model().now(), static_cast<double>(m.work_queue_size));
    if (next != before) {
      run.model().scale_to(next);
      run.record_action(
          std::string(next > before ? decision_type::kScaleUp : decision_type::kScaleDown), before,
          next, "hpa");
    }
  });
  return std::move(run.result());
}

}  // namespace

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double rank =
      std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size()));
  const auto i = static_cast<std::size_t>(std::max(1.0, rank)) - 1;
  return values[std::min(i, values.size() - 1)];
}

Result<PolicySpec> builtin_policy(const std::string& name, const Config& in_force) {
  PolicySpec p;
  p.name = name;
  p.config = in_force;
  if (name == "default") return p;
  if (name == "seed") {
    p.config.policy.sizing = Sizing::kSteps;
    return p;
  }
  if (name == "hpa") {
    p.kind = PolicySpec::Kind::kHpa;
    return p;
  }
  return Status(ErrorCode::kInvalidArgument,
                fmt::format("unknown policy \"{}\": use default, seed, hpa or a config file "
                            "(--config FILE)",
                            name));
}

Result<SimResult> simulate(const Trace& trace, const PolicySpec& policy,
                           const SimOptions& options) {
  if (trace.items.empty()) return Status(ErrorCode::kInvalidArgument, "the trace has no items");
  if (!(options.interval_s > 0)) {
    return Status(ErrorCode::kInvalidArgument, "the interval must be above 0 seconds");
  }
  return policy.kind == PolicySpec::Kind::kHpa ? simulate_hpa(trace, policy, options)
                                               : simulate_engine(trace, policy, options);
}

}  // namespace dslmodel::sim
