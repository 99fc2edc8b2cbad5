from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        from accounts.backends import forget_cached_users

        # A password change or deactivation must not be served from this process's user cache.
        post_save.connect(
            forget_cached_users, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts-user-cache"
        )
        post_delete.connect(
            forget_cached_users, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts-user-cache-delete"
        )
