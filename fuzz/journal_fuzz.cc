// The journal reader: a journal file with arbitrary contents (torn lines, garbage, hostile JSON) is
// read, then appended to, and read again. Property: the append succeeds and the record it wrote is
// the last one read back, whatever the file held before (docs/architecture.md, journal).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "dslmodel/journal.h"
#include "fuzz_util.h"
#include "journal/file_journal.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dslmodel;
  const auto dir = fuzz::scratch_dir() / "journal";
  fuzz::reset_dir(dir);
  const auto file = dir / "journal.jsonl";
  fuzz::write_file(file, fuzz::as_text(data, size));

  journal::FileJournal reader(file);
  (void)reader.read_all();

  journal::FileJournal writer(file);
  JournalEntry entry;
  entry.outcome = Outcome::kSkipped;
  entry.reason = "fuzz";
  entry.decision.id = "fuzz-decision";
  auto seq = writer.append(entry);
  if (!seq.ok()) return 0;  // e.g. a sequence number at its limit: refused, not corrupted
  auto all = writer.read_all();
  if (!all.ok() || all->empty() || all->back().decision.id != "fuzz-decision" ||
      all->back().seq != *seq) {
    std::abort();  // an acknowledged append that cannot be read back
  }
  return 0;
}
