"""Native hif8 checkpoints in Hugging Face transformers: ``import hifp8.transformers`` registers
``quant_method: "hif8"`` with transformers' quantizer plug-in API, so that

    model = AutoModelForCausalLM.from_pretrained("model-hif8", device_map="cuda", dtype=torch.bfloat16)

loads the checkpoint with every quantized Linear replaced by ``hifp8.quantized_linear.HiF8Linear``: the
U8 codes and float32 scales stay on the device as written (one byte per weight) and the forward pass
runs hifp8's kernels. ``HiF8Config(dequantize=True)`` passed as ``quantization_config`` (or
``"dequantize": true`` in the checkpoint's config, or ``model.dequantize()`` afterwards) gives a plain
bf16 model instead. ``hifp8.quantized_linear.enable_qat(model)`` makes the quantized layers trainable
(quantization-aware training); ``model.save_pretrained`` then writes a native hif8 checkpoint with re-encoded codes.
See docs/python.md.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from transformers.quantizers import HfQuantizer, register_quantization_config, register_quantizer
from transformers.utils.quantization_config import QuantizationConfigMixin

from .quantized_linear import HiF8Linear, dequantize_layers, is_ignored, quantized_layers, replace_modules

__all__ = ["HiF8Config", "HiF8Quantizer"]

QUANT_METHOD = "hif8"
_BYTE_LAYOUT = "hifloat8-ascend"  # the only HiF8 byte layout hifp8 writes (spec/checkpoint-formats.md, section 4)


class HiF8Config(QuantizationConfigMixin):
    """The ``quantization_config`` of a native hif8 checkpoint (the fields hifp8 quantize writes).

    dequantize: load as a plain model in the loading dtype (each weight decoded once) instead of
    HiF8Linear layers. A loading option: never written to config.json.
    """

    def __init__(
        self,
        format: str = _BYTE_LAYOUT,
        weights: Optional[dict] = None,
        activation_scheme: str = "dynamic",
        ignore: Optional[list] = None,
        kv_cache: Optional[dict] = None,
        smoothquant: bool = False,
        dequantize: bool = False,
        **kwargs: Any,
    ):
        self.quant_method = QUANT_METHOD
        self.format = format
        self.weights = dict(weights) if weights else {"strategy": "channel"}
        self.activation_scheme = activation_scheme
        self.ignore = list(ignore) if ignore else []
        self.kv_cache = kv_cache
        self.smoothquant = smoothquant
        self.dequantize = dequantize
        self.extra = kwargs  # fields of a newer hifp8, kept so that save_pretrained writes them back
        self.post_init()

    def post_init(self):
        if self.format != _BYTE_LAYOUT:
            raise ValueError(f"hif8 checkpoint: unsupported HiF8 byte layout '{self.format}' (hifp8 reads {_BYTE_LAYOUT})")
        self.granularity  # raises on an unknown strategy

    @property
    def granularity(self) -> str:
        """The weights' scale granularity in hifp8's notation ('channel', 'group:128', 'block:128x128', ...)."""
        strategy = self.weights.get("strategy", "channel")
        if strategy in ("channel", "tensor"):
            return strategy
        if strategy == "group":
            return f"group:{int(self.weights['group_size'])}"
        if strategy == "block":
            rows, cols = self.weights["block_structure"]
            return f"block:{int(rows)}x{int(cols)}"
        raise ValueError(f"hif8 checkpoint: unknown weights strategy '{strategy}'")

    @property
    def target(self) -> float:
        return float(self.weights.get("target") or 0.0)

    def get_loading_attributes(self) -> dict:
        return {"dequantize": self.dequantize}

    def to_dict(self) -> dict:
        return {
            "quant_method": QUANT_METHOD,
            "format": self.format,
            "weights": dict(self.weights),
            "activation_scheme": self.activation_scheme,
            "ignore": list(self.ignore),
            "kv_cache": self.kv_cache,
            "smoothquant": self.smoothquant,
            **self.extra,
        }

    def to_diff_dict(self) -> dict:
        return self.to_dict()


def _model_dtype(model: torch.nn.Module) -> torch.dtype:
    """The dtype the model computes in (its embeddings'), for dequantized layers."""
    embeddings = model.get_input_embeddings()
    return embeddings.weight.dtype if embeddings.weight.is_floating_point() else torch.bfloat16


class HiF8Quantizer(HfQuantizer):
    """Loads native hif8 checkpoints (pre-quantized by ``hifp8 quantize --scheme hif8``)."""

    requires_calibration = True  # only pre-quantized checkpoints: quantize with `hifp8 quantize`
    requires_parameters_quantization = False
    required_packages = None

    def validate_environment(self, *args, **kwargs):
        device_map = kwargs.get("device_map")
        if isinstance(device_map, dict) and "disk" in device_map.values():
            raise ValueError("hif8 checkpoints cannot be offloaded to disk: place every layer on a GPU or the CPU")

    def update_dtype(self, dtype):
        return torch.bfloat16 if dtype is None else dtype

    update_torch_dtype = update_dtype  # the name in transformers 4.x

    def _process_model_before_weight_loading(self, model, **kwargs):
        config = self.quantization_config
        self.modules_to_not_convert = list(config.ignore)

        def make(name, linear):
            if is_ignored(name, config.ignore):
                return None
            return HiF8Linear(linear.in_features, linear.out_features, linear.bias is not None, format="hif8",
                              granularity=config.granularity, target=config.target, device="meta",
                              dtype=linear.weight.dtype)

        replace_modules(model, torch.nn.Linear, make)
        # Scales stay float32 whatever the loading dtype (transformers casts floating tensors to it otherwise).
        model._keep_in_fp32_modules_strict = [*(getattr(model, "_keep_in_fp32_modules_strict", None) or []), "weight_scale"]
        model.config.quantization_config = config
        return model

    def _process_model_after_weight_loading(self, model, **kwargs):
        if self.quantization_config.dequantize:
            dequantize_layers(model, _model_dtype(model))
            self.remove_quantization_config(model)
        else:
            for _, layer in quantized_layers(model):
                layer.pack_()
        return model

    def _dequantize(self, model, dtype=None, **kwargs):
        return dequantize_layers(model, dtype or _model_dtype(model))

    def is_serializable(self, *args, **kwargs) -> bool:
        return True

    @property
    def is_trainable(self) -> bool:
        return True

    @property
    def is_qat_trainable(self) -> bool:
        return True


def _register() -> None:
    from transformers.quantizers import auto

    if QUANT_METHOD not in auto.AUTO_QUANTIZATION_CONFIG_MAPPING:
        register_quantization_config(QUANT_METHOD)(HiF8Config)
    if QUANT_METHOD not in auto.AUTO_QUANTIZER_MAPPING:
        register_quantizer(QUANT_METHOD)(HiF8Quantizer)
    # from_pretrained(..., quantization_config=HiF8Config(dequantize=True)) on a hif8 checkpoint:
    # transformers takes loading attributes from the passed config only for the classes in this tuple.
    types = getattr(auto, "LOADING_ATTRIBUTES_CONFIG_TYPES", None)
    if isinstance(types, tuple) and HiF8Config not in types:
        auto.LOADING_ATTRIBUTES_CONFIG_TYPES = types + (HiF8Config,)


_register()
