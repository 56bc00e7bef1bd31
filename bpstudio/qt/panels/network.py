"""A read-only picture of the network, drawn as Playground does: the input features, then
each Dense layer as a column of units, edges coloured by the sign of their weight (blue
positive, orange negative) and thickened by its size; dead units crossed out. Wide layers are
drawn as a band with their unit count. (The editable builder replaces this view.)"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy

from bpstudio.qt import theme
from bpstudio.qt.panels.base import Panel

MAX_DRAWN_UNITS = 12
RADIUS = 11


class NetworkPanel(Panel):
    title = "Network"
    name = "network"

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        self.setMinimumSize(320, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAutoFillBackground(True)
        self.feature_names: tuple = ()

    def _on_snapshot_ready(self, _snapshot):
        self.update()

    def _columns(self, s):
        """[title, units, notes, weights (kernel, bias) or None, dead mask or None]: the input,
        then one column per Dense layer; the layers between are listed in its notes."""
        cols = [["input", s.layer_units[0], [], None, None]]
        dense_index = 0
        for i, (name, kind) in enumerate(zip(s.layer_names, s.layer_kinds)):
            units = s.layer_units[i + 1]
            if kind == "Dense":
                w = s.weights[dense_index] if s.weights else None
                dense_index += 1
                cols.append([name, units, [s.layer_activations[i]], w, None])
            else:
                cols[-1][2].append(s.layer_activations[i] or kind)
            if name in s.relu_layers and len(cols) > 1:
                cols[-1][4] = s.dead[s.relu_layers.index(name)]
        return cols

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        s = self.snapshot
        if s is None:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No network yet")
            return
        cols = self._columns(s)
        w, h = self.width(), self.height()
        top, bottom = 34, h - 44
        xs = np.linspace(80, w - 50, len(cols))
        positions = []
        for x, col in zip(xs, cols):
            units = col[1]
            shown = min(units, MAX_DRAWN_UNITS)
            if units > MAX_DRAWN_UNITS:
                positions.append(None)
                continue
            gap = min((bottom - top) / max(shown, 1), 3.2 * RADIUS)
            y0 = (top + bottom) / 2 - gap * (shown - 1) / 2
            positions.append([QPointF(x, y0 + k * gap) for k in range(shown)])
        # edges first, under the units
        for i in range(1, len(cols)):
            weights = cols[i][3]
            a, b = positions[i - 1], positions[i]
            if weights is None or a is None or b is None:
                self._band_edge(painter, xs[i - 1], xs[i], top, bottom)
                continue
            kernel = weights[0]
            scale = float(np.nanmax(np.abs(kernel))) or 1.0
            for r, pa in enumerate(a):
                for c, pb in enumerate(b):
                    v = kernel[r, c]
                    if not np.isfinite(v):
                        continue
                    strength = min(abs(v) / scale, 1.0)
                    color = QColor(theme.BLUE if v > 0 else theme.ORANGE)
                    color.setAlphaF(0.25 + 0.75 * strength)
                    painter.setPen(QPen(color, 0.5 + 4.5 * strength))
                    painter.drawLine(pa, pb)
        title_font = QFont(self.font())
        title_font.setBold(True)
        for i, (x, col) in enumerate(zip(xs, cols)):
            name, units = col[0], col[1]
            painter.setFont(title_font)
            painter.setPen(QColor(theme.TEXT))
            painter.drawText(QRectF(x - 60, 4, 120, 18), Qt.AlignmentFlag.AlignCenter, name)
            painter.setFont(self.font())
            notes = [n for n in col[2] if n and n != "linear"]
            # Two short lines, elided to the room between columns, so neighbours never overlap.
            room = int(xs[1] - xs[0] - 6) if len(xs) > 1 else 160
            metrics = painter.fontMetrics()
            for row, text in enumerate((f"{units} unit{'s' * (units != 1)}", ", ".join(notes))):
                text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, room)
                painter.drawText(
                    QRectF(x - room / 2, bottom + 6 + 16 * row, room, 16),
                    Qt.AlignmentFlag.AlignCenter,
                    text,
                )
            if positions[i] is None:
                painter.setBrush(QColor("#e8eaed"))
                painter.setPen(QPen(QColor(theme.GREY), 1.5))
                painter.drawRoundedRect(QRectF(x - 16, top, 32, bottom - top), 8, 8)
                painter.setPen(QColor(theme.TEXT))
                painter.save()
                painter.translate(x, (top + bottom) / 2)
                painter.rotate(-90)
                painter.drawText(
                    QRectF(-60, -9, 120, 18), Qt.AlignmentFlag.AlignCenter, f"{units} units"
                )
                painter.restore()
                continue
            bias = col[3][1] if i and col[3] is not None else None
            dead = col[4] if i else None
            if i == 0 and len(s.feature_names) == len(positions[0]):
                painter.setPen(QColor(theme.TEXT))
                for p, feature in zip(positions[0], s.feature_names):
                    painter.drawText(
                        QRectF(p.x() - 60, p.y() - 9, 60 - RADIUS - 4, 18),
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                        feature,
                    )
            for k, p in enumerate(positions[i]):
                fill = QColor("#f1f3f4")
                if bias is not None and np.isfinite(bias[k]):
                    fill = QColor(theme.BLUE if bias[k] > 0 else theme.ORANGE)
                    fill.setAlphaF(0.25 + 0.5 * min(abs(bias[k]), 1.0))
                painter.setBrush(fill)
                painter.setPen(QPen(QColor("#5f6368"), 1.2))
                painter.drawEllipse(p, RADIUS, RADIUS)
                if dead is not None and k < len(dead) and dead[k]:
                    painter.setPen(QPen(QColor(theme.RED), 2.5))
                    d = RADIUS * 0.7
                    painter.drawLine(p + QPointF(-d, -d), p + QPointF(d, d))
                    painter.drawLine(p + QPointF(-d, d), p + QPointF(d, -d))

    def _band_edge(self, painter, x0, x1, top, bottom):
        """Too many edges to draw one by one: a few faint lines stand for all of them."""
        color = QColor(theme.GREY)
        color.setAlphaF(0.45)
        painter.setPen(QPen(color, 1.0))
        for a in np.linspace(top + 20, bottom - 20, 6):
            for b in np.linspace(top + 20, bottom - 20, 6):
                painter.drawLine(QPointF(x0 + 16, a), QPointF(x1 - 16, b))
