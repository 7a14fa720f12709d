// /proc/<pid>/stat, /proc/sys/kernel/random/boot_id and /proc/self/ns/pid.
#include "platform/processes.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <fstream>

namespace dslmodel::platform {
namespace {

std::string compute_pid_space() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string boot;
  if (!std::getline(in, boot) || boot.empty()) return {};
  struct stat st {};
  if (::stat("/proc/self/ns/pid", &st) != 0) return {};
  return boot + "/" + std::to_string(st.st_ino);
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  std::size_t rparen = text.rfind(')');
  if (rparen == std::string_view::npos || rparen + 2 >= text.size()) return std::nullopt;
  std::string_view rest = text.substr(rparen + 2);  // starts at field 3
  ProcStat stat;
  stat.state = rest.front();
  // Field 22 is the 20th field after ") ".
  for (int field = 3; field < 22; ++field) {
    std::size_t sp = rest.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(sp + 1);
  }
  std::size_t end = std::min(rest.find(' '), rest.size());
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + end, stat.start_time);
  if (ec != std::errc() || ptr != rest.data() + end || end == 0) return std::nullopt;
  return stat;
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::array<char, 4096> buf{};
  std::size_t len = 0;
  while (len < buf.size()) {
    ssize_t r = ::read(fd, buf.data() + len, buf.size() - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += static_cast<std::size_t>(r);
  }
  ::close(fd);
  return parse_proc_stat(std::string_view(buf.data(), len));
}

bool is_dead_state(char state) { return state == 'Z' || state == 'X' || state == 'x'; }

const std::string& pid_space() {
  static const std::string space = compute_pid_space();
  return space;
}

bool process_running(pid_t pid, std::uint64_t start_time) {
  std::optional<ProcStat> stat = read_proc_stat(pid);
  return stat && stat->start_time == start_time && !is_dead_state(stat->state);
}

bool process_group_running(pid_t pgid, std::uint64_t leader_start) {
  if (pgid <= 1) return false;
  if (::kill(-pgid, 0) != 0 && errno == ESRCH) return false;  // no member left
  std::optional<ProcStat> leader = read_proc_stat(pgid);
  return !leader || leader->start_time == leader_start;
}

}  // namespace dslmodel::platform
