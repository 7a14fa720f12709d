// The work-file readers: the pure record parsers the snapshot uses, and the directory store and
// queue reading the same bytes as a file (snapshot, list, show, claim). The first input byte picks
// the record kind; the rest is the file's contents.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "store/dir_store.h"
#include "store/dir_work_queue.h"
#include "store/record_parse.h"

namespace {

constexpr std::array<const char*, 4> kNames = {"agent_f.json", "work_f.json", "completed_f.json",
                                               "telemetry_f.json"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dslmodel;
  if (size == 0) return 0;
  const std::string_view bytes = fuzz::as_text(data + 1, size - 1);
  const char* name = kNames[data[0] % kNames.size()];

  (void)store::parse_agent("agent_f.json", bytes);
  (void)store::parse_work("work_f.json", bytes);
  (void)store::parse_completed("completed_f.json", bytes);
  (void)store::parse_telemetry("telemetry_f.json", bytes);

  const auto dir = fuzz::scratch_dir() / "coordination";
  fuzz::reset_dir(dir);
  fuzz::write_file(dir / name, bytes);
  store::DirStore dir_store(dir);
  (void)dir_store.snapshot();
  store::DirWorkQueue queue(dir);
  (void)queue.list("");
  (void)queue.show("f");
  auto claimed = queue.claim_next("fuzz-agent", std::chrono::seconds(60));
  if (claimed.ok() && claimed->has_value()) (void)queue.release(**claimed, "fuzz-agent");
  return 0;
}
