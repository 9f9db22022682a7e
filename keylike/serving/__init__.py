"""Serving: the web app's JSON contract, image checks, request batching and the FastAPI app."""

from keylike.serving.app import ServeConfig, create_app
from keylike.serving.batching import BatchConfig, BatchQueue
from keylike.serving.images import BadImageError, ImageLimits, decode_image
from keylike.serving.predictor import Answer, ModelPredictor, Predictor, analyze_images, predict_files
from keylike.serving.response import CONTRACT_FIELDS, Analysis, analyze_answer
from keylike.serving.server import ServerProcess, running_server, serve, serve_subprocess

__all__ = [
    "CONTRACT_FIELDS",
    "Analysis",
    "Answer",
    "BadImageError",
    "BatchConfig",
    "BatchQueue",
    "ImageLimits",
    "ModelPredictor",
    "Predictor",
    "ServeConfig",
    "ServerProcess",
    "analyze_answer",
    "analyze_images",
    "create_app",
    "decode_image",
    "predict_files",
    "running_server",
    "serve",
    "serve_subprocess",
]
