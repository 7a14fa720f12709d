#include "app/work_commands.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <limits>
#include <ostream>

#include "app/bounds.h"
#include "core/json_text.h"
#include "dslmodel/time.h"
#include "factory/backends.h"

namespace dslmodel::app {
namespace {

constexpr std::size_t kPayloadWidth = 60;

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& help) {
  CLI::App* c = parent.add_subcommand(name, help);
  c->fallthrough();
  return c;
}

std::string now_envelope(const std::string& command, nlohmann::json data) {
  return dump_json(
      envelope(command, true, std::move(data), {}, {}, std::chrono::system_clock::now()), 2);
}

int exit_code_for(const Status& s) {
  return s.code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

// Checks the parsed `work add` flags. Returns an empty string when they are usable.
std::string add_usage_error(const WorkArgs& a) {
  if (a.command.empty() && !a.prompt) {
    return "work add: nothing to run: give a command after -- (dsl work add -- CMD ARG...) or "
           "--prompt TEXT";
  }
  if (!a.command.empty() && a.prompt) {
    return "work add: give either a command after -- or --prompt, not both";
  }
  if (!a.command.empty() && a.command.front().empty()) {
    return "work add: the program (the first argument after --) must not be empty";
  }
  if (a.prompt && a.prompt->empty()) return "work add: --prompt must not be empty";
  return {};
}

// One argv element as a reader would retype it: quoted when it holds anything special.
std::string display_arg(const std::string& a) {
  bool plain = !a.empty() && a.find_first_not_of(
                                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                                 "WXYZ0123456789-_./=:,+@%") == std::string::npos;
  if (plain) return a;
  std::string out = "'";
  for (char c : a) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string payload_text(const WorkItem& w) {
  std::string text;
  if (w.command_invalid) {
    text = "(invalid command: not an argv array)";
  } else if (!w.command.empty()) {
    for (const auto& a : w.command) text += (text.empty() ? "" : " ") + display_arg(a);
  } else if (w.prompt) {
    text = "prompt: " + *w.prompt;
    for (char& c : text) c = c == '\n' ? ' ' : c;
  }
  if (text.size() > kPayloadWidth) text = text.substr(0, kPayloadWidth - 3) + "...";
  return text;
}

std::string render_items(const std::vector<WorkItem>& items, const Style& st) {
  std::string out = st.bold(fmt::format("{:<28} {:<10} {:>4} {:>8} {:<20} {}", "ID", "STATUS",
                                        "PRI", "ATTEMPTS", "CLAIMED_BY", "PAYLOAD")) +
                    "\n";
  for (const auto& w : items) {
    out += fmt::format("{:<28} {:<10} {:>4} {:>8} {:<20} {}\n", w.id,
                       w.status.empty() ? "pending" : w.status, w.priority,
                       fmt::format("{}/{}", w.attempts, w.max_attempts),
                       w.claimed_by.empty() ? "-" : w.claimed_by, payload_text(w));
  }
  if (items.empty()) out += st.dim("(no work items)") + "\n";
  return out;
}

NewWork to_new_work(const WorkArgs& a) {
  NewWork w;
  w.id = a.id;
  w.command = a.command;
  w.prompt = a.prompt;
  w.priority = a.priority;
  w.max_attempts = a.max_attempts;
  if (a.timeout_s) w.timeout = Seconds(*a.timeout_s);
  return w;
}

int run_add(const Context& ctx, WorkQueue& queue, const WorkArgs& args) {
  auto id = queue.add(to_new_work(args));
  if (!id.ok()) return fail(ctx, "work-add", exit_code_for(id.status()), id.status().message());
  if (ctx.json) {
    *ctx.out << now_envelope("work-add", {{"id", *id}}) << "\n";
  } else {
    *ctx.out << *id << "\n";
  }
  return kExitOk;
}

int run_list(const Context& ctx, WorkQueue& queue, const WorkArgs& args) {
  auto items = queue.list(args.status);
  if (!items.ok()) {
    return fail(ctx, "work-list", exit_code_for(items.status()), items.status().message());
  }
  if (ctx.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& w : *items) {
      nlohmann::json rec = w.raw.is_object() ? w.raw : nlohmann::json::object();
      rec["id"] = w.id;
      arr.push_back(std::move(rec));
    }
    *ctx.out << now_envelope("work-list", {{"items", arr}}) << "\n";
  } else {
    *ctx.out << render_items(*items, ctx.style);
  }
  return kExitOk;
}

int not_found_or(const Context& ctx, const std::string& command, const std::string& id,
                 const Status& s) {
  if (s.code() == ErrorCode::kNotFound) {
    return fail(ctx, command, kExitFailure, "no work item " + id);
  }
  return fail(ctx, command, exit_code_for(s), s.message());
}

int run_show(const Context& ctx, WorkQueue& queue, const WorkArgs& args) {
  auto rec = queue.show(args.item_id);
  if (!rec.ok()) return not_found_or(ctx, "work-show", args.item_id, rec.status());
  if (ctx.json) {
    *ctx.out << now_envelope("work-show", {{"item", *rec}}) << "\n";
  } else {
    *ctx.out << dump_json(*rec, 2) << "\n";
  }
  return kExitOk;
}

int run_requeue(const Context& ctx, WorkQueue& queue, const WorkArgs& args) {
  Status s = queue.requeue(args.item_id);
  if (!s.ok()) return not_found_or(ctx, "work-requeue", args.item_id, s);
  if (ctx.json) {
    *ctx.out << now_envelope("work-requeue", {{"id", args.item_id}, {"status", "pending"}}) << "\n";
  } else {
    *ctx.out << "requeued " << args.item_id << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_work_commands(CLI::App& app, WorkArgs& args) {
  CLI::App* work = add_command(app, "work", "The work queue: add, list, show and requeue items");
  work->require_subcommand(1);
  CLI::App* add =
      add_command(*work, "add",
                  "Queue an item: a command (argv after --, run without a shell) or --prompt TEXT");
  add->add_option("command", args.command,
                  "Program and arguments, after --; each is passed literally (no shell)");
  add->add_option("--prompt", args.prompt, "Text for the agent's prompt handler (on its stdin)");
  add->add_option("--priority", args.priority, "Higher runs first (default 0)")
      ->check(int_flag({std::numeric_limits<std::int64_t>::min(),
                        std::numeric_limits<std::int64_t>::max(), ""}));
  add->add_option("--max-attempts", args.max_attempts, "Attempts before giving up (default 3)")
      ->check(int_flag(kAttemptsBounds));
  add->add_option("--timeout", args.timeout_s,
                  "Seconds per attempt, a whole number > 0 (default: the agent's)")
      ->check(int_flag(kPositiveSecondsBounds));
  add->add_option("--id", args.id, "Item id, [A-Za-z0-9._-]{1,128} (default: generated)");
  CLI::App* list = add_command(*work, "list", "List queued items, highest priority first");
  list->add_option("--status", args.status, "Only items with this status (pending, claimed...)");
  CLI::App* show =
      add_command(*work, "show", "Print an item's record: queued, completed, dead or archived");
  show->add_option("id", args.item_id, "Item id")->required();
  CLI::App* requeue = add_command(
      *work, "requeue", "Put an item back to pending (claimed, dead or failed), attempts reset");
  requeue->add_option("id", args.item_id, "Item id")->required();
}

int dispatch_work(const CLI::App& work, const Context& ctx, const WorkArgs& args) {
  const bool adding = work.got_subcommand("add");
  if (adding) {
    if (std::string why = add_usage_error(args); !why.empty()) {
      return fail(ctx, "work-add", kExitUsage, why);
    }
  }
  const std::string& dir = ctx.config.coordination_dir;
  std::error_code ec;
  const std::string command = adding                        ? "work-add"
                              : work.got_subcommand("list") ? "work-list"
                              : work.got_subcommand("show") ? "work-show"
                                                            : "work-requeue";
  if (!uses_etcd(ctx.config) && !std::filesystem::is_directory(dir, ec)) {
    return fail(ctx, command, kExitFailure, "coordination directory not found: " + dir);
  }
  auto queue = make_work_queue(ctx.config);
  if (!queue.ok()) return fail(ctx, command, kExitUsage, queue.status().message());
  if (adding) return run_add(ctx, **queue, args);
  if (work.got_subcommand("list")) return run_list(ctx, **queue, args);
  if (work.got_subcommand("show")) return run_show(ctx, **queue, args);
  return run_requeue(ctx, **queue, args);
}

}  // namespace dslmodel::app
