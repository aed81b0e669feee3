"""reportgen: monthly Entra ID MFA posture reports for financial institutions."""
__version__ = "1.0.0"
