"""Check that a PNG is a real picture of the studio window, with the standard library only
(the installed app's system may have no Python packages): the size asked for, every row
decoded, and enough variety in it to be a window full of plots rather than a blank.

    python3 packaging/check_png.py FILE.png WIDTH HEIGHT
"""

import struct
import sys
import zlib


def read_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    pos, header, idat = 8, None, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color = header[:4]
    channels = {2: 3, 6: 4}.get(color)
    if depth != 8 or channels is None:
        raise ValueError(f"unexpected PNG format (depth {depth}, colour type {color})")
    raw = zlib.decompress(idat)
    stride = 1 + width * channels
    if len(raw) != height * stride:
        raise ValueError("the image data is incomplete")
    rows = [raw[i * stride + 1 : (i + 1) * stride] for i in range(height)]
    return width, height, rows


def main(path, width, height):
    w, h, rows = read_png(path)
    if (w, h) != (width, height):
        print(f"FAIL: {path} is {w}x{h}, expected {width}x{height}")
        return 1
    distinct_rows = len(set(rows))
    distinct_bytes = len(set(b"".join(rows[:: max(1, h // 50)])))
    print(f"{path}: {w}x{h}, {distinct_rows} distinct rows, {distinct_bytes} distinct byte values")
    if distinct_rows < h // 4 or distinct_bytes < 100:
        print("FAIL: the picture is nearly uniform; the window did not draw")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
