"""KLI insights: rules and the engine that assigns KLIs, and the serving side that publishes the
assignments into the serving DB (``publish``), reads them (``repository``) and answers the
``/kli/v1`` API (``endpoints``)."""
