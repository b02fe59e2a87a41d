"""Pieces every part of Mifkad shares: settings, the portal's own records, language and formats."""
