// The browser's own camera as a frame source: getUserMedia, one JPEG per camera frame.

/** Open the camera into `video`. Cameras need a secure context (https, or http://localhost). */
export async function openCamera(video) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error("no camera API here: the page must be served over https or from localhost");
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 640 }, height: { ideal: 480 } },
    audio: false,
  });
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  return stream;
}

export function closeCamera(video, stream) {
  stream?.getTracks().forEach((track) => track.stop());
  video.srcObject = null;
  video.hidden = true;
}

/**
 * Take the current video frame, scaled to `maxWidth` (0: as the camera gives it).
 * Returns the bitmap (kept to draw under its result) and the JPEG bytes to send.
 */
export async function grabFrame(video, maxWidth, quality = 0.8) {
  const scale = maxWidth > 0 ? Math.min(1, maxWidth / video.videoWidth) : 1;
  const width = Math.max(2, Math.round(video.videoWidth * scale));
  const height = Math.max(2, Math.round(video.videoHeight * scale));
  const bitmap = await createImageBitmap(video, { resizeWidth: width, resizeHeight: height, resizeQuality: "medium" });
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext("2d").drawImage(bitmap, 0, 0);
  const blob = await canvas.convertToBlob({ type: "image/jpeg", quality });
  return { bitmap, jpeg: await blob.arrayBuffer() };
}

/** Call `onFrame` once per new camera frame (requestVideoFrameCallback, else ~30 Hz) until stopped. */
export function eachFrame(video, onFrame) {
  let running = true;
  const useCallback = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
  const next = () => {
    if (!running) return;
    if (useCallback) video.requestVideoFrameCallback(tick);
    else setTimeout(tick, 33);
  };
  const tick = async () => {
    if (!running) return;
    try {
      await onFrame();
    } finally {
      next();
    }
  };
  next();
  return () => {
    running = false;
  };
}
