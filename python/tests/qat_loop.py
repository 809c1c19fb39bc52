"""The toy QAT problem the CPU and CUDA tests train: regress a fixed random MLP's output with an MLP
built from FakeQuantLinear layers."""

import torch

import hifp8.torch_ops as ops


def train(format: str, device: str, steps: int = 60, seed: int = 0):
    """(first loss, mean of the last 5 losses)."""
    torch.manual_seed(seed)
    teacher = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.Tanh(), torch.nn.Linear(64, 8)).to(device)
    model = torch.nn.Sequential(
        ops.FakeQuantLinear(32, 64, format=format, device=device),
        torch.nn.Tanh(),
        ops.FakeQuantLinear(64, 8, format=format, device=device),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        x = torch.randn(128, 32, device=device)
        with torch.no_grad():
            y = teacher(x)
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses[0], sum(losses[-5:]) / 5


def assert_every_format_learns(test, device: str):
    """The QAT test itself: for each format the loss ends below half its first value."""
    for format in ("hif8", "fp8_e4m3fn", "fp8_e5m2", "int8"):
        first, last = train(format, device=device)
        test.assertLess(last, 0.5 * first, f"{format} on {device}: loss {first:.4f} -> {last:.4f}")
