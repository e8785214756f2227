"""H.264 frames written by hand: copies of the previous picture, with a few macroblocks replaced.

x264 ``ultrafast`` spends ~1.5-2 ms on a 720p frame even when it is identical to the previous one, so the
renderer encodes only the distinct pictures and writes every frame between them here. A P slice whose
macroblocks are all P_Skip decodes to an exact copy of the previous picture and is a few bytes long; its
header depends only on the SPS/PPS and the frame's number. A frame that must change a little (the frame
counter in the corner) replaces just those macroblocks with I_PCM ones: raw samples, no transform and no
entropy coding, so they cost nothing to write and decode bit-exactly. x264's own P slices get their
fixed-width ``frame_num`` rewritten to make room for the frames written here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from videomock.media.errors import RenderError

START_CODE = b"\x00\x00\x00\x01"
#: mb_type of I_PCM in a P slice (the intra types follow P's five).
_P_SLICE_I_PCM = 5 + 25


@dataclass(frozen=True)
class Macroblock:
    """An I_PCM macroblock: its address (raster order) and its 384 samples (8-bit 4:2:0: 16x16 luma, then 8x8
    Cb and 8x8 Cr)."""

    address: int
    samples: bytes


@dataclass(frozen=True)
class SequenceParams:
    """The few SPS/PPS fields a hand-written P slice header depends on."""

    pps_id: int
    log2_max_frame_num: int
    width_mbs: int
    mb_count: int
    redundant_pic_cnt: bool

    @classmethod
    def parse(cls, sps_nal: bytes, pps_nal: bytes) -> SequenceParams:
        """Accept only what the Baseline encode guarantees (POC type 2, progressive, CAVLC, one slice group,
        no weighted prediction, deblocking controllable per slice); anything else means the encoder changed
        and written frames would be wrong."""
        sps = BitReader(sps_nal[1:])
        profile = sps.u(8)
        sps.u(16)  # constraint flags, level
        sps.ue()   # seq_parameter_set_id
        log2_max_frame_num = sps.ue() + 4
        poc_type = sps.ue()
        sps.ue()   # max_num_ref_frames
        sps.u(1)   # gaps_in_frame_num_value_allowed_flag
        width_mbs, height_mbs = sps.ue() + 1, sps.ue() + 1
        progressive = sps.u(1)
        pps = BitReader(pps_nal[1:])
        pps_id = pps.ue()
        pps.ue()   # seq_parameter_set_id
        cabac = pps.u(1)
        pps.u(1)   # bottom_field_pic_order_in_frame_present_flag (unused with POC type 2)
        slice_groups = pps.ue() + 1
        pps.ue()   # num_ref_idx_l0_default_active_minus1
        pps.ue()   # num_ref_idx_l1_default_active_minus1
        weighted = pps.u(1)
        pps.u(2)   # weighted_bipred_idc
        pps.se()   # pic_init_qp_minus26
        pps.se()   # pic_init_qs_minus26
        pps.se()   # chroma_qp_index_offset
        deblocking_control = pps.u(1)
        pps.u(1)   # constrained_intra_pred_flag
        redundant = pps.u(1)
        if (profile, poc_type, progressive, cabac, slice_groups, weighted, deblocking_control) != (66, 2, 1, 0, 1, 0, 1):
            raise RenderError("encoder produced an H.264 layout the frame writer does not support "
                              f"(profile {profile}, POC type {poc_type}, CABAC {cabac}, "
                              f"deblocking control {deblocking_control})")
        return cls(pps_id, log2_max_frame_num, width_mbs, width_mbs * height_mbs, bool(redundant))

    def frame(self, position: int, replaced: Sequence[Macroblock] = ()) -> bytes:
        """A reference P frame (one slice): a copy of the previous picture but for ``replaced`` (in address
        order). Every predicted motion vector is zero when no macroblock moves, so a skipped macroblock is
        an exact copy; deblocking is off, so the replaced ones neither blur nor are blurred."""
        bits = BitWriter()
        bits.ue(0)                      # first_mb_in_slice
        bits.ue(5)                      # slice_type: P, and every slice of the picture is P
        bits.ue(self.pps_id)
        bits.u(self.log2_max_frame_num, self._frame_num(position))
        if self.redundant_pic_cnt:
            bits.ue(0)
        bits.u(1, 0)                    # num_ref_idx_active_override_flag
        bits.u(1, 0)                    # ref_pic_list_modification_flag_l0
        bits.u(1, 0)                    # adaptive_ref_pic_marking_mode_flag
        bits.ue(0)                      # slice_qp_delta = 0 (se(0) codes as ue(0))
        bits.ue(1)                      # disable_deblocking_filter_idc
        next_address = 0
        for macroblock in replaced:
            bits.ue(macroblock.address - next_address)   # mb_skip_run up to it
            bits.ue(_P_SLICE_I_PCM)
            bits.align()                                 # pcm_alignment_zero_bits
            bits.raw(macroblock.samples)
            next_address = macroblock.address + 1
        if next_address < self.mb_count:
            bits.ue(self.mb_count - next_address)        # the rest of the picture is skipped
        return START_CODE + bytes([0x41]) + escape(bits.rbsp_trailing())  # nal_ref_idc 2, non-IDR slice

    def renumber(self, nal: bytes, position: int) -> bytes:
        """x264 numbered its P slices by picture; give this one the frame_num of its frame position.
        frame_num is fixed-width, so only those bits change."""
        rbsp = bytearray(unescape(nal[1:]))
        header = BitReader(bytes(rbsp[:16]), escaped=False)
        first_mb, slice_type = header.ue(), header.ue()
        header.ue()  # pic_parameter_set_id
        if first_mb != 0 or slice_type not in (0, 5):
            raise RenderError(f"encoder produced an unexpected slice (first_mb {first_mb}, type {slice_type})")
        value, width = self._frame_num(position), self.log2_max_frame_num
        for index in range(width):
            byte, bit = divmod(header.position + index, 8)
            mask = 0x80 >> bit
            rbsp[byte] = rbsp[byte] | mask if value >> (width - 1 - index) & 1 else rbsp[byte] & ~mask
        return nal[:1] + escape(bytes(rbsp))

    def _frame_num(self, position: int) -> int:
        """frame_num wraps modulo MaxFrameNum; with POC type 2 the decoder's frame-number offset keeps the
        picture order increasing across the wrap."""
        return position % (1 << self.log2_max_frame_num)


def nal_units(stream: bytes) -> list[bytes]:
    """The NAL units of an Annex B stream, without their start codes."""
    return [nal for nal in re.split(rb"\x00\x00\x00?\x01", stream) if nal]


def unescape(payload: bytes) -> bytes:
    """NAL payload to RBSP: drop emulation prevention bytes."""
    return re.sub(rb"\x00\x00\x03", b"\x00\x00", payload)


def escape(rbsp: bytes) -> bytes:
    """RBSP to NAL payload: no start code may appear inside."""
    return re.sub(rb"\x00\x00(?=[\x00-\x03])", b"\x00\x00\x03", rbsp)


class BitReader:
    """Exp-Golomb reader over an RBSP."""

    def __init__(self, data: bytes, *, escaped: bool = True) -> None:
        rbsp = unescape(data) if escaped else data
        self._value = int.from_bytes(rbsp, "big")
        self._bits = len(rbsp) * 8
        self.position = 0

    def u(self, count: int) -> int:
        self.position += count
        if self.position > self._bits:
            raise RenderError("encoder produced a truncated H.264 header")
        return (self._value >> (self._bits - self.position)) & ((1 << count) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        code = self.ue()
        return (code + 1) // 2 if code % 2 else -(code // 2)


class BitWriter:
    """Bits into an RBSP. Whole bytes (I_PCM samples) go in directly once the bits are aligned, so writing a
    frame costs what its header bits do, not what its samples do."""

    def __init__(self) -> None:
        self._done = bytearray()
        self._value = 0
        self._bits = 0

    def u(self, count: int, value: int) -> None:
        self._value = (self._value << count) | value
        self._bits += count

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(2 * code.bit_length() - 1, code)

    def align(self) -> None:
        """Zero bits up to the next byte boundary."""
        self.u(-self._bits % 8, 0)
        self._done += self._value.to_bytes(self._bits // 8, "big")
        self._value = self._bits = 0

    def raw(self, data: bytes) -> None:
        """Bytes at a byte boundary (after :meth:`align`)."""
        self._done += data

    def rbsp_trailing(self) -> bytes:
        self.u(1, 1)
        self.align()
        return bytes(self._done)
