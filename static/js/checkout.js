// Stripe's Payment Element on the checkout page (only with Stripe keys; the simulated checkout is a form).
// The server never trusts this page: after Stripe redirects to the return URL, it retrieves the intent.
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form || typeof Stripe === "undefined") {
    return;
  }
  var stripe = Stripe(form.dataset.publishableKey);
  var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  elements.create("payment").mount("#payment-element");
  var submit = document.getElementById("payment-submit");
  var message = document.getElementById("payment-message");

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (submit.disabled) {
      return; // a double click pays once
    }
    submit.disabled = true;
    message.hidden = true;
    stripe
      .confirmPayment({ elements: elements, confirmParams: { return_url: form.dataset.returnUrl } })
      .then(function (result) {
        // Only reached on an error: success redirects to the return URL.
        if (result.error) {
          message.textContent = result.error.message || "The payment did not go through.";
          message.hidden = false;
        }
        submit.disabled = false;
      });
  });
})();
