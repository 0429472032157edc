"""Speech features for the gesture generator: read speech (soundfile, or Blender's aud), and
compute log-mel, onset strength and energy per motion frame in numpy from stored filters
(librosa makes the filters and is the reference the numpy features are tested against)."""

from .features import frame_centres, num_feature_frames, onset_strength, speech_features
from .filters import AudioFilters
from .reading import MIN_SECONDS, SAMPLE_RATE, SILENT_RMS, AudioContentError, Speech, read_speech, resample

__all__ = [
    "MIN_SECONDS", "SAMPLE_RATE", "SILENT_RMS", "AudioContentError", "AudioFilters", "Speech",
    "frame_centres", "num_feature_frames", "onset_strength", "read_speech", "resample", "speech_features",
]
