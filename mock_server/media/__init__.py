"""The placeholder media: rendering MP4s with ffmpeg, the video cache, and fetching input images."""
