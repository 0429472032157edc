"""Video and landmark capture: MediaPipe Holistic landmarks (from a video or a `.pose` file)
and their fit to SMPL-X motion. Never imports bpy."""
