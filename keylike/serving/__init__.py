"""Serving: the web app's JSON contract, image checks, request batching and the FastAPI app."""

from keylike.serving.app import ServeConfig, create_app
from keylike.serving.batching import BatchConfig, BatchQueue
from keylike.serving.images import BadImageError, ImageLimits, decode_image
from keylike.serving.predictor import Answer, ModelPredictor, Predictor, analyze_images, load_model_dir, predict_files
from keylike.serving.response import CONTRACT_FIELDS, analyze_answer
from keylike.serving.server import running_server, serve

__all__ = [
    "CONTRACT_FIELDS",
    "Answer",
    "BadImageError",
    "BatchConfig",
    "BatchQueue",
    "ImageLimits",
    "ModelPredictor",
    "Predictor",
    "ServeConfig",
    "analyze_answer",
    "analyze_images",
    "create_app",
    "decode_image",
    "load_model_dir",
    "predict_files",
    "running_server",
    "serve",
]
