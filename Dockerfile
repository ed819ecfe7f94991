# CUDA-capable image of the latentgap dashboard.
#   docker build -t latentgap .
#   docker run --gpus all -p 7860:7860 -v latentgap-workspace:/workspace latentgap
# PyPI's torch 2.13.0 wheel for Linux x86_64 bundles CUDA; `--gpus all` (NVIDIA Container Toolkit on the
# host) exposes the GPU, and latentgap picks it with --device auto. Without a GPU it runs on the CPU.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    LATENTGAP_HOME=/workspace \
    GRADIO_ANALYTICS_ENABLED=False

WORKDIR /app
COPY requirements.txt .
RUN pip install --disable-pip-version-check -r requirements.txt
COPY latentgap ./latentgap
# (latentgap/data: configs, zoo and licences are package data inside it; the top-level data is a link to it)
COPY app.py pyproject.toml README.md ./

RUN useradd --create-home latentgap && mkdir -p /workspace && chown latentgap /workspace
USER latentgap
VOLUME /workspace
EXPOSE 7860
# Inside a container the app must listen on all interfaces for -p to reach it; the host decides exposure.
CMD ["python", "-m", "latentgap", "serve", "--host", "0.0.0.0", "--port", "7860"]
