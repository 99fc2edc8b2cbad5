from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, SetPasswordMixin
from django.utils.translation import gettext_lazy as _

PASSWORD_MAX_LENGTH = 256


class _PlainLabelsMixin:
    """Labels read "Password", not "Password:", so they are the fields' exact accessible names."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SignupForm(_PlainLabelsMixin, forms.Form):
    """Shape of the sign-up page; the rules (unique e-mail, password strength) live in `user_create`."""

    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    first_name = forms.CharField(
        label=_("First name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=_("Last name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    password1 = forms.CharField(
        label=_("Password"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password confirmation"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Enter the same password as before, for verification."),
    )

    def clean_password2(self) -> str:
        password1 = self.cleaned_data.get("password1")
        password2 = self.cleaned_data["password2"]
        if password1 and password1 != password2:
            raise forms.ValidationError(
                SetPasswordMixin.error_messages["password_mismatch"], code="password_mismatch"
            )
        return password2


class EmailAuthenticationForm(_PlainLabelsMixin, AuthenticationForm):
    """Django's log-in form with the username field presented as the e-mail address it is."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Please enter a correct e-mail address and password."),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.label = _("E-mail address")
        username.widget = forms.EmailInput(
            attrs={"autocomplete": "email", "autofocus": True, "maxlength": username.max_length}
        )


class AccountPasswordChangeForm(_PlainLabelsMixin, PasswordChangeForm):
    pass
