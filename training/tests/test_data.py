import json
import os
import tempfile
import unittest

import numpy as np
from PIL import Image

from medpsim_training import data as D
from tests.helpers import make_kermany, save_image


class PatientIdTest(unittest.TestCase):
    def test_server_rule(self):
        cases = {
            "person12_bacteria_45.jpeg": "person12",
            "PERSON3_virus_7.jpeg": "person3",
            "IM-0115-0001.jpeg": "IM-0115",
            "im-0115-0002.png": "IM-0115",
            "NORMAL2-IM-1427-0001.jpeg": "NORMAL2-IM-1427",
            "train/NORMAL/normal2-im-0007-0003.jpeg": "NORMAL2-IM-0007",
            "scan_0001.png": None,
            "person_bacteria_1.jpeg": None,
            "IM-0115.jpeg": None,
        }
        for name, want in cases.items():
            self.assertEqual(D.patient_id_from_file_name(name), want, name)


class ScanTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_kermany_layout(self):
        make_kermany(self.root, {"train": {"NORMAL": 2, "PNEUMONIA": 3}, "val": {"NORMAL": 1}}, size=8)
        # Not items: hidden files, the synthetic marker, "__" folders; non-images are reported as skipped.
        open(os.path.join(self.root, "train", "NORMAL", ".DS_Store"), "w").close()
        open(os.path.join(self.root, "MEDPSIM_SYNTHETIC.json"), "w").close()
        os.makedirs(os.path.join(self.root, "__MACOSX"))
        with open(os.path.join(self.root, "train", "PNEUMONIA", "notes.txt"), "w") as fh:
            fh.write("x")
        layout, items, skipped = D.scan_dataset(self.root)
        self.assertEqual(layout, "kermany")
        self.assertEqual(len(items), 6)
        self.assertEqual(skipped, ["train/PNEUMONIA/notes.txt"])
        self.assertEqual({(it.split, it.label) for it in items}, {("train", "NORMAL"), ("train", "PNEUMONIA"), ("val", "NORMAL")})
        self.assertTrue(all(it.patient for it in items))

    def test_class_folders_and_flat(self):
        save_image(os.path.join(self.root, "a", "NORMAL", "IM-0001-0001.png"), np.zeros((4, 4)), 8)
        layout, items, _ = D.scan_dataset(os.path.join(self.root, "a"))
        self.assertEqual((layout, items[0].split, items[0].label, items[0].patient), ("class-folders", None, "NORMAL", "IM-0001"))
        save_image(os.path.join(self.root, "b", "x.png"), np.zeros((4, 4)), 8)
        layout, items, _ = D.scan_dataset(os.path.join(self.root, "b"))
        self.assertEqual((layout, items[0].label, items[0].patient, items[0].patient_key), ("flat", None, None, "file:x.png"))

    def test_export_manifest_and_csv(self):
        save_image(os.path.join(self.root, "images", "ab.png"), np.zeros((4, 4)), 16)
        save_image(os.path.join(self.root, "images", "cd.png"), np.zeros((4, 4)), 8)
        doc = {"format": "medpsim-dataset", "version": 1, "images": [
            {"path": "images/ab.png", "split": "train", "label": "NORMAL", "patientId": "anon-1"},
            {"path": "images/cd.png", "split": "test", "label": "PNEUMONIA", "patientId": None,
             "sourcePath": "test/PNEUMONIA/person9_virus_3.jpeg"}]}
        with open(os.path.join(self.root, "manifest.json"), "w") as fh:
            json.dump(doc, fh)
        layout, items, _ = D.scan_dataset(self.root)
        self.assertEqual(layout, "export")
        self.assertEqual([(i.rel, i.split, i.label, i.patient) for i in items],
                         [("images/ab.png", "train", "NORMAL", "anon-1"), ("images/cd.png", "test", "PNEUMONIA", "person9")])
        os.remove(os.path.join(self.root, "manifest.json"))
        with open(os.path.join(self.root, "images.csv"), "w") as fh:
            fh.write("path,split,label,patient_id\nimages/ab.png,train,NORMAL,p1\nimages/cd.png,,PNEUMONIA,\n")
        layout, items, _ = D.scan_dataset(self.root)
        self.assertEqual([(i.split, i.label, i.patient) for i in items], [("train", "NORMAL", "p1"), (None, "PNEUMONIA", None)])
        with open(os.path.join(self.root, "images.csv"), "a") as fh:
            fh.write("images/missing.png,train,NORMAL,p2\n")
        with self.assertRaises(D.DataError):
            D.scan_dataset(self.root)

    def test_missing_or_not_a_folder(self):
        with self.assertRaises(D.DataError):
            D.scan_dataset(os.path.join(self.root, "nope"))
        path = os.path.join(self.root, "file.png")
        save_image(path, np.zeros((2, 2)), 8)
        with self.assertRaises(D.DataError):
            D.scan_dataset(path)

    def test_bit_depth_scaling(self):
        p16 = os.path.join(self.root, "a16.png")
        Image.fromarray(np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)).save(p16)
        p8 = os.path.join(self.root, "a8.png")
        Image.fromarray(np.array([[0, 255], [128, 3]], dtype=np.uint8), mode="L").save(p8)
        prgb = os.path.join(self.root, "rgb.png")
        Image.fromarray(np.full((2, 2, 3), 200, dtype=np.uint8), mode="RGB").save(prgb)
        np.testing.assert_allclose(D.load_grey(p16), np.array([[0, 65535], [32768, 1000]]) / 65535.0, rtol=0, atol=1e-7)
        np.testing.assert_allclose(D.load_grey(p8), np.array([[0, 255], [128, 3]]) / 255.0, rtol=0, atol=1e-7)
        np.testing.assert_allclose(D.load_grey(prgb), np.full((2, 2), 200 / 255.0), atol=1e-6)
        arr, kept = D.load_images([D.Item(p16, "a16.png", None, None, None)], 2)
        self.assertEqual(arr.dtype, np.uint16)
        self.assertEqual(arr[0].tolist(), [[0, 65535], [32768, 1000]])  # 16-bit kept exactly

    def test_unreadable_file_is_reported(self):
        bad = os.path.join(self.root, "person1_virus_1.jpeg")
        with open(bad, "wb") as fh:
            fh.write(b"not an image")
        seen = []
        arr, kept = D.load_images([D.Item(bad, "person1_virus_1.jpeg", None, None, "person1")], 8,
                                  on_error=lambda it, e: seen.append(it.rel))
        self.assertEqual((arr.shape[0], kept, seen), (0, [], ["person1_virus_1.jpeg"]))


class SplitByPatientTest(unittest.TestCase):
    def items(self, seed):
        rng = np.random.default_rng(seed)
        out = []
        for p in range(60):
            label = "NORMAL" if p % 4 == 0 else "PNEUMONIA"
            patient = None if p % 10 == 9 else f"person{p}"
            for k in range(int(rng.integers(1, 5))):
                out.append(D.Item(f"/x/{p}_{k}", f"{label}/{p}_{k}.png", "train", label, patient))
        return out

    def test_no_patient_on_both_sides(self):
        for seed in range(25):
            items = self.items(seed)
            kept, held = D.split_by_patient(items, 0.2, seed)
            self.assertEqual(len(kept) + len(held), len(items))
            self.assertFalse({i.patient_key for i in kept} & {i.patient_key for i in held})
            self.assertEqual({i.label for i in held}, {"NORMAL", "PNEUMONIA"})  # stratified by label
            patients = {i.patient_key for i in items}
            self.assertAlmostEqual(len({i.patient_key for i in held}) / len(patients), 0.2, delta=0.06)

    def test_files_without_id_are_their_own_patient(self):
        items = [D.Item(f"/x/{k}", f"scan_{k}.png", "train", "NORMAL", None) for k in range(10)]
        kept, held = D.split_by_patient(items, 0.3, 0)
        self.assertEqual((len(kept), len(held)), (7, 3))

    def test_deterministic(self):
        items = self.items(3)
        a = D.split_by_patient(items, 0.1, 7)
        b = D.split_by_patient(items, 0.1, 7)
        c = D.split_by_patient(items, 0.1, 8)
        self.assertEqual([i.rel for i in a[1]], [i.rel for i in b[1]])
        self.assertNotEqual([i.rel for i in a[1]], [i.rel for i in c[1]])

    def test_bad_fraction(self):
        with self.assertRaises(D.DataError):
            D.split_by_patient([], 1.0, 0)


if __name__ == "__main__":
    unittest.main()
