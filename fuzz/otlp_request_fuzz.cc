// The OTLP/HTTP receiver's request handling: the content-type and length checks, then the body
// validated and stored as telemetry files, which the store's snapshot must read back.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "store/dir_store.h"
#include "telemetry/otlp_receiver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dslmodel;
  const std::string_view body = fuzz::as_text(data, size);
  (void)telemetry::validate_export(body);

  const auto dir = fuzz::scratch_dir() / "coordination";
  fuzz::reset_dir(dir);
  telemetry::ReceiverConfig cfg;
  cfg.dir = dir;
  telemetry::OtlpReceiver receiver(cfg);
  if (receiver.precheck("application/json", body.size())) return 0;
  telemetry::ReceiverReply reply = receiver.handle(body);
  if (reply.status == 200) {
    store::DirStore store(dir);
    (void)store.snapshot();
  }
  return 0;
}
