#include "hifp8/io/export/export_writer.h"

#include "io/export/writers.h"

namespace hifp8::io {

std::unique_ptr<ExportWriter> make_export_writer(const Scheme& scheme) {
  switch (scheme.export_kind) {
    case ExportKind::compressed_tensors: return make_compressed_tensors_writer(scheme.format == FormatId::int8);
    case ExportKind::fp8_legacy: return make_fp8_legacy_writer();
    case ExportKind::fp8_block: return make_fp8_block_writer();
    case ExportKind::hif8_native: return make_hif8_native_writer();
    case ExportKind::fake_quant: return make_fake_quant_writer();
  }
  return nullptr;
}

nlohmann::json strategy_fields(const Granularity& g) {
  nlohmann::json j = {{"strategy", ""}, {"group_size", nullptr}, {"block_structure", nullptr}};
  switch (g.kind) {
    case GranularityKind::tensor: j["strategy"] = "tensor"; break;
    case GranularityKind::channel:
    case GranularityKind::token: j["strategy"] = "channel"; break;
    case GranularityKind::group: j["strategy"] = "group", j["group_size"] = g.group_size; break;
    case GranularityKind::block: j["strategy"] = "block", j["block_structure"] = {g.block_rows, g.block_cols}; break;
  }
  return j;
}

}  // namespace hifp8::io
