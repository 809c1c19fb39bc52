#pragma once
// Constructors of the export writers, one per file in io/export/.
#include <memory>

#include "hifp8/io/export/export_writer.h"

namespace hifp8::io {

std::unique_ptr<ExportWriter> make_compressed_tensors_writer(bool int8);
std::unique_ptr<ExportWriter> make_fp8_legacy_writer();
std::unique_ptr<ExportWriter> make_fp8_block_writer();
std::unique_ptr<ExportWriter> make_hif8_native_writer();
std::unique_ptr<ExportWriter> make_fake_quant_writer();

}  // namespace hifp8::io
